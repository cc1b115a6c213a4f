// The chat client: turns the user's actions into parley.v1 commands and the server's frames
// into state (store.js). The views call its methods; they never touch the socket.
//
// Exactly-once delivery, as the user sees it:
// * Sending: each message gets a client id (cid) when it is typed. It is shown as "sending"
//   until the server's `ack` (sent only after the message is stored) or until the message
//   itself comes back on the stream. If the connection drops first it becomes "failed —
//   retry"; a retry sends the same cid, and the server answers a cid it already stored with
//   the original ack instead of storing it twice. So a lost ack can never make a duplicate.
// * Receiving: after every (re)connection, `resume` asks for each room's events after the
//   last seq this page applied; the store drops any event at or below that seq.

import { CommandError, Connection } from "./connection.js";
import { Store } from "./store.js";

export const HISTORY_PAGE = 50;
const TYPING_EVERY = 3000; // the server drops typing notices sent more often than this
const READ_DELAY = 400; // batch read markers while messages stream in

export class ChatClient {
  /**
   * @param {object} hooks
   *   onStatus(status)   connection state for the banner (connection.js)
   *   onSignedOut(why)   the server ended the session
   *   onError(message)   a failure to show the user (a toast)
   *   onReady()          welcome processed: the app can pick the room to show
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.store = new Store();
    this.typingSent = new Map();
    this.readTimer = 0;
    this.conn = new Connection({
      onWelcome: (msg) => this.welcome(msg),
      onMessage: (msg) => this.message(msg),
      onClosed: () => this.store.disconnected(),
      onStatus: (status) => hooks.onStatus(status),
      onSignedOut: (why) => hooks.onSignedOut(why),
    });
    this.typingTimer = setInterval(() => this.store.expireTyping(), 1000);
    this.store.on("gap", ({ room }) => this.refill(room));
    this.store.on("pending", () => this.savePending());
    this.restored = false;
  }

  // Messages not confirmed yet survive a reload of the tab (sessionStorage: this tab only,
  // gone when it closes). They come back as "failed — retry", with their cid: a retry of one
  // the server did store is answered with the original ack, never stored twice.

  pendingKey() {
    return `parley.pending.${this.store.me.toLowerCase()}`;
  }

  savePending() {
    if (!this.store.me) return;
    const unsent = [];
    for (const room of this.store.rooms.values()) {
      for (const p of room.pending) {
        if (p.state !== "sent") unsent.push({ cid: p.cid, room: p.room, text: p.text, files: p.files });
      }
    }
    try {
      if (unsent.length) sessionStorage.setItem(this.pendingKey(), JSON.stringify(unsent));
      else sessionStorage.removeItem(this.pendingKey());
    } catch {
      // storage disabled or full: the messages stay in this page only
    }
  }

  restorePending() {
    if (this.restored) return;
    this.restored = true;
    let saved = [];
    try {
      saved = JSON.parse(sessionStorage.getItem(this.pendingKey()) || "[]");
    } catch {
      saved = [];
    }
    for (const entry of Array.isArray(saved) ? saved : []) {
      const room = this.store.room(String(entry.room));
      if (!room || !room.member || typeof entry.cid !== "string" || typeof entry.text !== "string") continue;
      if (this.store.pendingByCid(entry.cid)) continue;
      this.store.addPending(room, {
        cid: entry.cid,
        text: entry.text,
        files: Array.isArray(entry.files) ? entry.files : [],
        room: room.name,
        state: "failed",
        error: "Not confirmed by the server before the page was reloaded.",
      });
    }
  }

  /** Ask again for a room's events after the last one applied (see store.event). */
  refill(room) {
    this.conn
      .request("resume", { rooms: { [room.name]: room.lastSeq } }, { tolerant: true })
      .catch(() => {}) // disconnected: the next welcome resumes every room anyway
      .finally(() => {
        room.refilling = false;
      });
  }

  start() {
    this.conn.start();
  }

  /** Sign-out: close the connection for good and forget everything (the next user starts clean). */
  stop() {
    clearTimeout(this.readTimer);
    this.readTimer = 0;
    this.conn.stop();
    this.typingSent.clear();
    try {
      if (this.store.me) sessionStorage.removeItem(this.pendingKey());
    } catch {
      // nothing stored
    }
    this.restored = false;
    this.store.clear();
  }

  get connected() {
    return this.conn.open;
  }

  // -- from the server ------------------------------------------------------------------

  welcome(msg) {
    const positions = this.store.welcome(msg);
    // `resume` first, before any other command: the stream of every room starts with it
    // (any other command would start it from the welcome's seqs, skipping what we missed).
    const resumed = this.conn.request("resume", { rooms: positions }, { tolerant: true });
    this.restorePending();
    this.hooks.onReady();
    resumed
      .then(() => this.refreshPresence())
      .catch((error) => {
        if (error.code !== "offline") this.hooks.onError(`Could not catch up: ${error.message}`);
      });
  }

  message(msg) {
    const store = this.store;
    switch (msg.type) {
      case "event":
        store.event(msg);
        if (msg.room === store.active) this.scheduleRead();
        break;
      case "ack":
        store.ack(msg);
        break;
      case "presence":
        store.presence(msg);
        break;
      case "typing":
        store.typingStarted(msg);
        break;
      case "unread":
        store.unread(msg);
        break;
      case "follow":
        store.follows.told(msg);
        store.emit("follow", msg);
        break;
      case "notify":
        store.notifyLevel(msg);
        break;
      case "profile":
        store.setProfile(msg.user, msg);
        break;
      case "room": {
        if (msg.removed) {
          // The operator deleted the room: it is gone for everyone, with its history.
          store.removeRoom(msg.room.name);
          this.hooks.onError?.(`#${msg.room.name} was deleted.`);
          this.hooks.onRoomsChanged?.();
          break;
        }
        // Membership changed elsewhere (another tab, an invitation, a new direct message).
        const room = store.roomInfo(msg.room);
        if (room.member && room.kind === "direct") this.who(room).catch(() => {});
        this.hooks.onRoomsChanged?.();
        break;
      }
      case "error":
        this.serverError(msg);
        break;
      default:
        break; // pong, resumed (answered), or a newer server's message: nothing to do
    }
  }

  serverError(msg) {
    if (msg.re && this.store.pendingByCid(msg.re)) {
      const why =
        msg.code === "rate_limited"
          ? "Not sent: too many messages at once. Wait a moment, then retry."
          : msg.code === "unavailable"
            ? "Not sent: the server cannot store messages right now."
            : `Not sent: ${msg.message}`;
      this.store.failPending(msg.re, why);
      return;
    }
    if (msg.code === "rate_limited") return; // a typing notice or read marker too many: harmless
    this.hooks.onError(msg.message);
  }

  /** Presence of the people in direct rooms (the open room's is asked when it is shown). */
  refreshPresence() {
    const store = this.store;
    const rooms = store.memberRooms().filter((room) => room.kind === "direct" && room.name !== store.active);
    for (const room of rooms) this.who(room).catch(() => {});
  }

  // -- rooms ----------------------------------------------------------------------------

  /** My notification level of a room (`until`: muted until then, ms; 0: not muted). Every tab
   *  of mine follows the `notify` notice that the server sends back. */
  async setNotify(room, level, until = 0) {
    await this.conn.request("notify", { room: room.name, level, until });
  }

  /** My email settings: `{address, notify}`. */
  async email() {
    return this.conn.request("email", {});
  }

  async setEmail(address, notify) {
    return this.conn.request("email", { address, notify });
  }

  /** Change my profile: `{display_name?, avatar?}` (an avatar upload's id; `""` removes).
   *  The `profile` notice the server sends back updates every view (and the other people's). */
  async setProfile(fields) {
    await this.conn.request("profile", fields);
  }

  async who(room) {
    const reply = await this.conn.request("who", { room: room.name });
    this.store.members(room, reply.members, reply.online, reply.profiles || {});
  }

  /** The first page of history of a room shown for the first time (since a reset). */
  ensureLoaded(room) {
    if (room.loaded || !room.member) return;
    if (!room.hasMore) {
      room.loaded = true;
      return;
    }
    this.loadOlder(room);
  }

  async loadOlder(room) {
    if (room.loading || !room.hasMore || !this.connected) return;
    const token = {}; // a reset or a disconnection meanwhile makes this answer stale
    room.loading = token;
    this.store.emit("timeline", { room, kind: "loading" });
    let reply;
    try {
      reply = await this.conn.request("history", { room: room.name, before: room.oldestSeq, limit: HISTORY_PAGE });
    } catch (error) {
      if (room.loading === token) {
        room.loading = false;
        this.store.emit("timeline", { room, kind: "loading" });
      }
      if (error.code !== "offline") this.hooks.onError(`Could not load older messages: ${error.message}`);
      return;
    }
    if (room.loading !== token) return;
    room.loading = false;
    room.loaded = true;
    this.store.history(room, reply.events, reply.more);
    this.store.emit("timeline", { room, kind: "loading" });
  }

  /**
   * One page of the rooms we can see whose name holds `query` (sorted by name): `{rooms, more,
   * next}`; the next page is asked for with `after` = `next`. The rooms are not kept in the
   * store: a server may have far more public rooms than a page should hold.
   */
  async listRooms(query = "", after = null) {
    const fields = { query, limit: 50 };
    if (after) fields.after = after;
    return this.conn.request("rooms", fields);
  }

  async entered(reply) {
    const room = this.store.roomInfo(reply.room);
    if (reply.online) this.store.markOnline(reply.online);
    return room;
  }

  async join(name) {
    return this.entered(await this.conn.request("join", { room: name }));
  }

  async create(name, topic, isPrivate) {
    return this.entered(await this.conn.request("create", { room: name, topic, private: isPrivate }));
  }

  async dm(user) {
    const room = await this.entered(await this.conn.request("dm", { user }));
    this.who(room).catch(() => {});
    return room;
  }

  async leave(room) {
    const reply = await this.conn.request("leave", { room: room.name });
    this.store.roomInfo(reply.room);
  }

  async setTopic(room, topic) {
    await this.conn.request("topic", { room: room.name, topic });
  }

  // -- room roles and moderation (views/moderation.js) -------------------------------------

  async roomSettings(room) {
    return this.conn.request("room_settings", { room: room.name });
  }

  async changeRoomSettings(room, changes) {
    await this.conn.request("room_settings", { room: room.name, ...changes });
  }

  /** role, kick, ban, unban, mute, unmute: `fields` names the user (and role, until). */
  async moderate(room, type, fields) {
    await this.conn.request(type, { room: room.name, ...fields });
  }

  async invite(room, user) {
    await this.conn.request("invite", { room: room.name, user });
  }

  // -- messages -------------------------------------------------------------------------

  /** Send a message: `files` are the FileInfo of uploads made for it (uploads.js). */
  send(room, text, files = []) {
    const pending = { cid: crypto.randomUUID(), text, files, state: "sending", error: "", room: room.name };
    this.store.addPending(room, pending);
    this.transmit(pending);
    this.typingSent.delete(room.name);
  }

  retry(room, cid) {
    const pending = room.pending.find((p) => p.cid === cid);
    if (!pending || pending.state === "sending") return;
    pending.state = "sending";
    pending.error = "";
    this.store.emit("pending", { room });
    this.transmit(pending);
  }

  transmit(pending) {
    // The command id is the cid: an error about this send names it in `re`.
    const frame = { type: "send", id: pending.cid, room: pending.room, text: pending.text, cid: pending.cid };
    if (pending.files.length) frame.files = pending.files.map((file) => file.id);
    if (!this.conn.send(frame)) {
      this.store.failPending(pending.cid, "Not sent: you are offline.");
    }
  }

  discard(room, cid) {
    this.store.discardPending(room, cid);
  }

  async edit(room, item, text) {
    await this.conn.request("edit", { room: room.name, mid: item.mid, text });
  }

  async remove(room, item) {
    await this.conn.request("delete", { room: room.name, mid: item.mid });
  }

  /** Tell the others we are typing, at most once per TYPING_EVERY per room. */
  typing(room) {
    const now = Date.now();
    if (now - (this.typingSent.get(room.name) || 0) < TYPING_EVERY) return;
    if (this.conn.send({ type: "typing", room: room.name })) this.typingSent.set(room.name, now);
  }

  /** Move the read marker to the newest event, soon (the user is looking at it). */
  scheduleRead() {
    if (this.readTimer || !this.store.viewing) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = 0;
      this.markRead();
    }, READ_DELAY);
  }

  // -- threads, reactions, pins, versions (issue 17; docs/protocol.md) ----------------------

  /** A reply in thread `root` (a mid); `broadcast`: shown in the room's timeline too. Resolves
   *  with the ack; the reply itself arrives on the stream like any message. */
  async reply(room, root, text, broadcast) {
    const cid = crypto.randomUUID();
    return this.conn.request("send", { room: room.name, text, cid, thread: root, broadcast: Boolean(broadcast) });
  }

  /** The replies of thread `root`, oldest first, kept in the store: `{root, replies, more,
   *  following}` (`following`: whether I follow the thread, the server's word or a newer
   *  notice's; also kept in `store.follows`). */
  async threadHistory(room, root, before = null) {
    const fields = { room: room.name, thread: root, limit: HISTORY_PAGE };
    if (before) fields.before = before;
    const stamp = this.store.follows.stamp();
    const reply = await this.conn.request("history", fields);
    const following = this.store.follows.fromPage(room.name, root, reply.following, stamp);
    const replies = reply.events.filter((event) => event.kind === "message").map((event) => this.store.keepReply(room, event));
    return { root: reply.root ? this.store.keepReply(room, reply.root) : null, replies, more: Boolean(reply.more), following };
  }

  /** Whether I follow thread `root`: known, or asked of the server (a one-reply page). */
  async following(room, root) {
    return this.store.follows.lookup(room.name, root, async () => {
      const stamp = this.store.follows.stamp();
      const reply = await this.conn.request("history", { room: room.name, thread: root, limit: 1 });
      this.store.follows.fromPage(room.name, root, reply.following, stamp);
    });
  }

  async react(room, item, emoji, remove = false) {
    await this.conn.request(remove ? "unreact" : "react", { room: room.name, mid: item.mid, emoji });
  }

  async pin(room, item, unpin = false) {
    await this.conn.request(unpin ? "unpin" : "pin", { room: room.name, mid: item.mid });
  }

  /** The room's pinned messages, most recently pinned first: `{events, more}`. */
  async pins(room) {
    return this.conn.request("pins", { room: room.name, limit: 50 });
  }

  /** A message's versions, oldest first: `{versions, more}`. */
  async versions(room, item, before = null) {
    const fields = { room: room.name, mid: item.mid, limit: 50 };
    if (before) fields.before = before;
    return this.conn.request("versions", fields);
  }

  async follow(room, root, stop = false) {
    await this.conn.request(stop ? "unfollow" : "follow", { room: room.name, mid: root });
  }

  /** The threads I follow, most recently replied-to first: `{threads, more, next}`. */
  async threads(after = null) {
    const fields = { limit: 50 };
    if (after) fields.after = after;
    return this.conn.request("threads", fields);
  }

  /** I read thread `root` up to `seq` (its own marker; the room's does not move). */
  readThread(room, root, seq) {
    this.conn.send({ type: "read", room: room.name, seq, thread: root });
  }

  markRead() {
    const store = this.store;
    const room = store.active ? store.room(store.active) : undefined;
    if (!room || !room.member || !store.viewing) return;
    if (room.unread || room.mentions) {
      room.unread = 0;
      room.mentions = 0;
      store.emit("rooms");
    }
    if (room.lastSeq > room.readSent && this.conn.send({ type: "read", room: room.name, seq: room.lastSeq })) {
      room.readSent = room.lastSeq;
    }
  }
}

export { CommandError };
