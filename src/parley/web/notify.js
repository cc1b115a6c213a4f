// Desktop notifications (the Notification API) and the favicon's mention badge.
//
// The browser asks for permission only when the user presses "Enable notifications" (asking
// on page load is what makes people click "Block"). A message notifies when the page is
// hidden or another room is open, and the room's level wants it (the server stores the level,
// every tab of the user follows it): `all` every message by others, `mentions` (the default)
// messages that mention me and every message of a direct room, `none` nothing; a mute until
// some time silences the room whatever the level.
//
// A reply shown only in its thread (not `broadcast`) notifies only if I follow the thread (the
// server's word: store.follows, or asked once), by the same rule: `all` every reply by others,
// `mentions` one that mentions me (and, in a direct room, every reply), `none` or a mute never.
// Such a reply is not in the room's timeline, so having its room open is not seeing it: it
// notifies unless the page is visible with that very thread open in the thread panel.
// Clicking it opens the thread panel at the reply.
//
// One notification per message across the tabs of this browser: every tab sees the same
// events, so the tabs agree through a Web Lock named after the message, which the tab that
// takes it first keeps for a minute: the other tabs, asking only if it is free, find it taken.
// (localStorage alone is not enough: Chromium shares its writes between tabs late.) A list
// in localStorage of what was shown covers a tab that hears of the message after that minute,
// and the notification's `tag` (room:mid) makes the system replace rather than add, should
// locks be unavailable.

const SHOWN_KEY = "parley.notified"; // localStorage: {tag: time shown}
const SHOWN_KEPT = 500; // the newest entries kept in that list
const BODY_CHARS = 200;
const LOCK_HELD = 60_000; // ms the tab that shows a notification keeps its lock

export class Notifier {
  /**
   * @param {import("./store.js").Store} store
   * @param {{open: (room: string, seq: number) => void,
   *          openThread: (room: string, root: number, seq: number) => void,
   *          following: (room: object, root: number) => Promise<boolean>,
   *          showingThread: (room: string, root: number) => boolean}} actions
   */
  constructor(store, actions) {
    this.store = store;
    this.actions = actions;
    store.on("message", (detail) => this.consider(detail));
  }

  /** Whether this browser has the API, and what it says about permission. */
  static permission() {
    return "Notification" in window ? Notification.permission : "unsupported";
  }

  /** Ask for permission (only ever from a click on the "Enable notifications" control). */
  static async ask() {
    if (!("Notification" in window)) return "unsupported";
    return Notification.requestPermission();
  }

  /** Whether the room's level (and mute) wants this message shown. */
  wanted(room, mentioned) {
    if (room.mutedUntil && room.mutedUntil > Date.now()) return false;
    if (room.notify === "none") return false;
    if (room.notify === "all") return true;
    return mentioned || room.kind === "direct";
  }

  consider({ room, event, mentioned, inThread = false }) {
    if (Notifier.permission() !== "granted") return;
    // An edit notifies only for the mention it added (never for a changed text).
    if (event.kind === "edit" && !mentioned) return;
    if (!this.wanted(room, mentioned)) return;
    if (!inThread) {
      if (this.looking() && this.store.active === room.name) return;
      this.show(room, event, mentioned, null);
      return;
    }
    if (this.looking() && this.actions.showingThread(room.name, event.thread)) return;
    // A reply in its thread only: for a follower of the thread. A mention made me one.
    if (mentioned) {
      this.show(room, event, mentioned, event.thread);
      return;
    }
    this.actions
      .following(room, event.thread)
      .then((following) => {
        if (following) this.show(room, event, false, event.thread);
      })
      .catch(() => {}); // offline: the thread's unread count still says it
  }

  /** Whether the person can be looking at this tab at all. */
  looking() {
    return document.visibilityState === "visible";
  }

  /** Show the notification of `event` (once across tabs); `root`: a reply's thread, which a
   *  click opens at the reply (null: the room at the message). */
  show(room, event, mentioned, root) {
    const item = room.byMid.get(event.mid);
    const seq = event.kind === "message" ? event.seq : item ? item.seq : event.seq;
    const tag = `${room.name}:${event.mid}`;
    const where = room.kind === "direct" ? "" : ` in #${room.name}`;
    const who = this.store.nameWithHandle(event.user);
    const title = mentioned ? `${who} mentioned you${where}` : root !== null ? `${who} replied in a thread${where}` : `${who}${where}`;
    // A message of files only says which (the notification has no room for a picture).
    const files = Array.isArray(event.files) ? event.files : [];
    const sent = files.length === 1 ? `Sent ${files[0].name}` : `Sent ${files.length} files`;
    const text = String(event.text || "") || (files.length ? sent : "");
    const body = text.length > BODY_CHARS ? `${text.slice(0, BODY_CHARS)}…` : text;
    const show = () => {
      if (!firstTime(tag)) return;
      const note = new Notification(title, { body, tag, data: { room: room.name, seq } });
      note.addEventListener("click", () => {
        window.focus();
        if (root !== null) this.actions.openThread(room.name, root, seq);
        else this.actions.open(room.name, seq);
        note.close();
      });
    };
    if (!navigator.locks) {
      show();
      return;
    }
    navigator.locks
      .request(`parley-notify:${tag}`, { ifAvailable: true }, (lock) => {
        if (!lock) return undefined; // another tab has it: that tab shows it
        show();
        return new Promise((resolve) => setTimeout(resolve, LOCK_HELD));
      })
      .catch(() => {});
  }
}

/** True the first time a tag is seen by any tab of this browser (under the lock). */
function firstTime(tag) {
  let shown = {};
  try {
    shown = JSON.parse(localStorage.getItem(SHOWN_KEY) || "{}") || {};
  } catch {
    shown = {};
  }
  if (shown[tag]) return false;
  shown[tag] = Date.now();
  const entries = Object.entries(shown);
  if (entries.length > SHOWN_KEPT) {
    entries.sort((a, b) => b[1] - a[1]);
    shown = Object.fromEntries(entries.slice(0, SHOWN_KEPT));
  }
  try {
    localStorage.setItem(SHOWN_KEY, JSON.stringify(shown));
  } catch {
    // Storage full or refused: the tag still keeps the system from showing it twice.
  }
  return true;
}

/** The favicon with a badge of the mention count ("" when none): drawn on a canvas. */
export class FaviconBadge {
  constructor() {
    this.link = document.querySelector('link[rel="icon"]');
    this.plain = this.link ? this.link.getAttribute("href") : null;
    this.count = 0;
    this.image = null;
  }

  show(count) {
    if (!this.link || count === this.count) return;
    this.count = count;
    if (!count) {
      this.link.setAttribute("href", this.plain);
      this.link.setAttribute("type", "image/svg+xml");
      return;
    }
    if (!this.image) {
      this.image = new Image();
      this.image.addEventListener("load", () => this.draw());
      this.image.src = this.plain;
    } else if (this.image.complete) this.draw();
  }

  draw() {
    if (!this.count) return;
    const size = 64;
    const canvas = document.createElement("canvas");
    canvas.width = size;
    canvas.height = size;
    const g = canvas.getContext("2d");
    g.drawImage(this.image, 0, 0, size, size);
    g.fillStyle = "#d93a3a";
    g.beginPath();
    g.arc(size - 20, 20, 20, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = "#ffffff";
    g.font = "bold 26px sans-serif";
    g.textAlign = "center";
    g.textBaseline = "middle";
    g.fillText(this.count > 9 ? "9+" : String(this.count), size - 20, 21);
    this.link.setAttribute("type", "image/png");
    this.link.setAttribute("href", canvas.toDataURL("image/png"));
  }
}
