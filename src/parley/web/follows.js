// Which threads I follow, as the server says it (docs/protocol.md, `follow`): the `following`
// of a thread's `history`, then the `follow` notices (an explicit follow or unfollow in any
// tab, or a reply that made me follow: I replied, or it mentions me). Nothing is guessed from
// who wrote what: a thread never asked about and never told of is unknown (undefined), and a
// view that needs it asks the server.
//
// A notice is newer than a page asked for before it arrived (the server reads `following`,
// then a change may commit and its notice overtake the answer): `ask()` takes a stamp before
// the request, and `fromPage` keeps a notice that came after that stamp.
//
// Bounded: the newest KEPT threads are remembered (a forgotten one is asked again). After a
// reconnection everything is forgotten, since notices sent while offline are not replayed.

const KEPT = 2000;

export class Follows {
  constructor() {
    this.known = new Map(); // "room\nroot" -> {following, at}
    this.clock = 0; // counts the notices
    this.asking = new Map(); // "room\nroot" -> Promise<boolean>: one request at a time
  }

  /** True, false, or undefined (not known: ask the server). */
  get(room, root) {
    return this.known.get(key(room, root))?.following;
  }

  /** The stamp to give `fromPage` for a request made now. */
  stamp() {
    return this.clock;
  }

  /** A `follow` notice: the newest word on the thread. */
  told(msg) {
    this.clock += 1;
    this.remember(key(msg.room, msg.thread), { following: Boolean(msg.following), at: this.clock });
  }

  /** A thread's `history` page said `following` (asked at `stamp`); kept unless a notice came
   *  since. Returns what is known now. */
  fromPage(room, root, following, stamp) {
    const k = key(room, root);
    const had = this.known.get(k);
    if (typeof following === "boolean" && (!had || had.at <= stamp)) this.remember(k, { following, at: stamp });
    return this.known.get(k)?.following;
  }

  /** What is known, or what `ask(room, root)` (a request for the thread's `following`) finds;
   *  the same request is shared by everyone waiting for it. */
  async lookup(room, root, ask) {
    const now = this.get(room, root);
    if (now !== undefined) return now;
    const k = key(room, root);
    if (!this.asking.has(k)) {
      const request = ask().finally(() => this.asking.delete(k));
      this.asking.set(k, request);
    }
    await this.asking.get(k);
    return this.get(room, root) ?? false;
  }

  /** Forget everything (a new connection: what was told while offline is unknown). */
  forget() {
    this.known.clear();
  }

  remember(k, value) {
    this.known.delete(k); // re-inserted: the newest last
    this.known.set(k, value);
    if (this.known.size > KEPT) this.known.delete(this.known.keys().next().value);
  }
}

const key = (room, root) => `${room}\n${root}`;
