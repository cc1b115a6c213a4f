// What the page knows: rooms, their timelines, messages being sent, who is online and typing.
// No DOM and no socket here: client.js feeds server frames in, the views (views/*.js) listen to
// the change notifications ("rooms", "timeline", "pending", "typing", "members", "presence",
// "profile").
//
// A room's timeline is always one contiguous run of its event seqs, [oldestSeq, lastSeq]:
// live and resumed events extend it at the end (lastSeq + 1), history extends it at the start
// (before oldestSeq). So resuming from lastSeq can neither miss nor repeat an event, and any
// event at or below lastSeq that arrives anyway is a duplicate and is dropped.

import { Follows } from "./follows.js";

export const TYPING_SHOWN_FOR = 6000; // ms a typing notice stays shown (the server sends ≤ 1 per 3 s)

/** Names are case-insensitive on the server ("Alice" is "alice"). */
export const userKey = (name) => String(name).toLowerCase();

/** How an event's `mentions` names everyone in the room. */
export const ROOM_MENTION = "@room";

export class Room {
  constructor(info) {
    this.name = info.name;
    this.kind = info.kind; // "public" | "private" | "direct"
    this.topic = "";
    this.member = false;
    this.members = []; // direct rooms: the two users
    this.unread = info.unread || 0;
    this.mentions = info.mentions || 0; // of the unread, those that mention me
    this.notify = info.notify || "mentions"; // my notification level: all | mentions | none
    this.mutedUntil = info.muted_until || 0; // ms since the epoch; 0: not muted
    this.memberList = null; // Map userKey -> name, once `who` answered
    this.typing = new Map(); // userKey -> {name, until}
    this.pending = []; // messages of ours not yet in the timeline: {cid, text, files, state, error}
    this.draft = "";
    this.attachments = []; // files chosen for the next message (views/attachments.js)
    this.scroll = null; // where the user left the timeline: px from the bottom, or null
    this.readSent = 0; // the newest seq we told the server we read
    this.invitedBy = null; // who just added us (live), until the room is opened: shown as new
    this.update(info);
    this.reset(info.seq || 0);
  }

  update(info) {
    this.topic = info.topic || "";
    this.member = Boolean(info.member);
    this.archived = Boolean(info.archived); // read-only: the composer is replaced by a note
    if (info.notify) this.notify = info.notify;
    if (info.muted_until !== undefined) this.mutedUntil = info.muted_until;
    if (Array.isArray(info.members) && info.members.length) this.members = info.members;
  }

  /** Forget the timeline; the stream (re)starts after `seq`. */
  reset(seq) {
    this.items = []; // messages and notices (join, leave, topic), in seq order
    this.byMid = new Map(); // message id -> item
    this.lastSeq = seq; // every event up to here is applied (or older than what is loaded)
    this.oldestSeq = seq + 1; // history continues below this
    this.hasMore = seq > 0;
    this.loading = false;
    this.loaded = false; // has history been asked for since the reset?
    this.refilling = false; // a `resume` of this room to fill a gap is on its way
    this.baseline = seq; // the server's unread count covers events up to here
    // Edits and deletes of messages older than what is loaded: applied if history brings them.
    this.orphans = new Map();
    this.replies = new Map(); // reply mid -> item, for replies seen live or in a thread panel
  }
}

/** An event as the timeline keeps it. */
function itemFrom(event) {
  return {
    seq: event.seq,
    kind: event.kind,
    user: event.user,
    ts: event.ts,
    mid: event.mid ?? null,
    text: event.text ?? "",
    edited: Boolean(event.edited),
    deleted: Boolean(event.deleted),
    by: event.by ?? null,
    cid: event.cid ?? null,
    previous: event.previous ?? null,
    until: event.until ?? null,
    settings: event.settings ?? null,
    mentions: Array.isArray(event.mentions) ? event.mentions : [],
    files: Array.isArray(event.files) ? event.files : [], // FileInfo (uploads.js)
    guest: event.kind === "message" && /^guest-/i.test(event.user || ""),
    ...threadFields(event),
  };
}

/** Issue 17's fields of a message: its thread (a reply), its thread's summary (a root), its
 *  reactions and pin, as the server last said them (social.js applies live changes). */
function threadFields(event) {
  return {
    thread: event.thread ?? null, // a reply: the root's mid
    broadcast: Boolean(event.broadcast), // a reply shown in the room's timeline too
    replies: event.thread ? 0 : event.replies || 0, // a root: its thread's summary
    lastReplyTs: event.thread ? 0 : event.last_reply_ts || 0,
    repliers: !event.thread && Array.isArray(event.repliers) ? event.repliers : [],
    reactions: Array.isArray(event.reactions) ? event.reactions.map((r) => ({ ...r, users: [...(r.users || [])] })) : [],
    pinned: event.pinned || 0,
  };
}

/** Whether a message belongs in its room's main timeline (not a reply kept in its thread). */
export const inMainTimeline = (event) => !event.thread || Boolean(event.broadcast);

const MODERATION_KINDS = new Set(["role", "kick", "ban", "unban", "mute", "unmute", "settings"]);
const VISIBLE_KINDS = new Set(["message", "join", "leave", "topic", "rename", "archive", "unarchive", ...MODERATION_KINDS]);

export class Store {
  constructor() {
    this.me = "";
    this.admin = false;
    this.rooms = new Map(); // name -> Room (member rooms, and public rooms one could join)
    this.online = new Set(); // userKeys of people online (from who, ok and presence)
    this.active = null; // the name of the open room
    this.viewing = false; // is the open room's newest message on screen in a visible tab?
    // userKey -> {display_name, avatar, version}: from welcome (mine), `who` and `profile`
    // notices. `version` counts the changes, so a view can tell a node drawn before one.
    this.profiles = new Map();
    this.listeners = new Map();
    this.follows = new Follows(); // the threads I follow, as the server says (follows.js)
  }

  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  emit(type, detail) {
    for (const listener of this.listeners.get(type) || []) listener(detail);
  }

  isMe(name) {
    return userKey(name) === userKey(this.me);
  }

  room(name) {
    if (this.rooms.has(name)) return this.rooms.get(name);
    const key = userKey(name);
    for (const room of this.rooms.values()) if (userKey(room.name) === key) return room;
    return undefined;
  }

  memberRooms() {
    return [...this.rooms.values()].filter((room) => room.member);
  }

  /** The other person of a direct room, or the room's own name. */
  /** A room's name as people read it: a direct room's is the other person's display name. */
  title(room) {
    if (room.kind !== "direct") return room.name;
    return this.displayName(this.peer(room));
  }

  /** The user name of the other person in a direct room (mine, in a room with myself). */
  peer(room) {
    const other = room.members.find((name) => !this.isMe(name));
    return other || room.members[0] || room.name.split(":").pop();
  }

  clear() {
    this.me = "";
    this.rooms.clear();
    this.profiles.clear();
    this.online.clear();
    this.active = null;
    this.emit("rooms");
  }

  // -- connection life ------------------------------------------------------------------

  /**
   * A (re)connection's welcome. Returns the `resume` positions: every member room whose
   * timeline we keep, from its last seen seq. Rooms not listed stream from the welcome's seq.
   */
  welcome(msg) {
    this.follows.forget(); // notices sent while offline are not replayed
    this.me = msg.user.name;
    this.admin = Boolean(msg.user.admin);
    this.setProfile(this.me, msg.user);
    const positions = {};
    const seen = new Set();
    for (const info of msg.rooms) {
      seen.add(info.name);
      let room = this.rooms.get(info.name);
      if (!room) {
        room = new Room(info);
        this.rooms.set(info.name, room);
        continue;
      }
      const wasMember = room.member;
      room.update(info);
      if (!info.member) {
        room.reset(info.seq);
        room.pending = [];
      } else if (wasMember && room.lastSeq <= info.seq) {
        positions[room.name] = room.lastSeq;
        room.baseline = info.seq;
      } else {
        // New to us, or the server's history is behind ours (a restored database): start over.
        room.reset(info.seq);
        this.emit("timeline", { room, kind: "reset" });
      }
      room.unread = info.unread || 0;
      room.mentions = info.mentions || 0;
    }
    for (const [name, room] of this.rooms) {
      if (!seen.has(name)) this.rooms.delete(name);
      else room.typing.clear();
    }
    // Presence may have changed while we were away: it is asked again (client.js).
    this.online.clear();
    this.online.add(userKey(this.me));
    this.emit("rooms");
    this.emit("presence");
    return positions;
  }

  /** The connection dropped: what was being sent is now "failed — retry". */
  disconnected() {
    for (const room of this.rooms.values()) {
      room.typing.clear();
      let changed = false;
      for (const pending of room.pending) {
        if (pending.state === "sending") {
          pending.state = "failed";
          pending.error = "Not sent: the connection dropped.";
          changed = true;
        }
      }
      if (changed) this.emit("pending", { room });
      room.loading = false;
      this.emit("typing", { room });
    }
  }

  /** Membership from `ok` (join, create, dm), `room` (another tab, an invitation) or leave. */
  roomInfo(info) {
    let room = this.rooms.get(info.name);
    if (!room) {
      room = new Room(info);
      this.rooms.set(info.name, room);
    } else {
      const wasMember = room.member;
      room.update(info);
      if (info.member && !wasMember) {
        // The stream of this room starts after info.seq (the seq of our join, minus one).
        room.reset(info.seq);
        room.unread = 0;
        room.mentions = 0;
        this.emit("timeline", { room, kind: "reset" });
      }
      if (!info.member) {
        room.pending = [];
        room.unread = 0;
        room.mentions = 0;
        room.memberList = null;
        if (room.kind !== "public") this.rooms.delete(room.name);
      }
    }
    this.emit("rooms");
    return room;
  }

  // -- events ---------------------------------------------------------------------------

  /** One event of a room's stream (live, or replayed by resume). */
  event(event) {
    const room = this.rooms.get(event.room);
    if (!room || !room.member) return;
    if (event.seq <= room.lastSeq) return; // already applied: a duplicate is never shown twice
    if (event.seq > room.lastSeq + 1) {
      // A gap (never with a correct server): ask for the room again from what we have, and
      // drop what comes before it is filled.
      if (!room.refilling) {
        room.refilling = true;
        this.emit("gap", { room });
      }
      return;
    }
    room.lastSeq = event.seq;
    switch (event.kind) {
      case "message": {
        const item = itemFrom(event);
        if (item.thread !== null) this.reply(room, item, event);
        this.typingStopped(room, event.user);
        if (!inMainTimeline(event)) {
          // A reply in its thread only (unread there: `threads`): the notifier decides, from
          // whether I follow the thread and the room's level (notify.js).
          if (event.seq > room.baseline && !this.isMe(event.user)) {
            this.emit("message", { room, event, mentioned: this.mentionsMe(event), inThread: true });
          }
          break;
        }
        this.appendItem(room, item);
        this.settlePending(room, event);
        if (!this.isMe(event.user) && !event.deleted && event.seq > room.baseline) {
          if (!(this.active === room.name && this.viewing)) {
            room.unread += 1;
            if (this.mentionsMe(event)) room.mentions += 1;
            this.emit("rooms");
          }
        }
        if (!this.isMe(event.user) && event.seq > room.baseline) {
          this.emit("message", { room, event, mentioned: this.mentionsMe(event) });
        }
        break;
      }
      case "edit":
      case "delete":
        this.change(room, event);
        this.mentionChange(room, event);
        if (event.thread) this.summary(room, event.thread, event);
        break;
      case "reaction":
        this.reaction(room, event);
        break;
      case "pin":
      case "unpin":
        this.pin(room, event);
        break;
      case "topic":
        room.topic = event.text || "";
        this.appendItem(room, itemFrom(event));
        this.emit("rooms");
        break;
      case "join":
      case "leave":
        if (event.kind === "join" && event.by && this.isMe(event.user) && !this.isMe(event.by)) {
          // Someone added us, and we are seeing it happen (a replay or a reload starts after our
          // join). Messages before it are not unread (the marker starts here): the room is "new".
          room.invitedBy = event.by;
          this.emit("invited", { room, by: event.by });
          this.emit("rooms");
        }
        this.appendItem(room, itemFrom(event));
        if (room.memberList) {
          if (event.kind === "join") room.memberList.set(userKey(event.user), event.user);
          else room.memberList.delete(userKey(event.user));
          this.emit("members", { room });
        }
        break;
      case "archive":
      case "unarchive":
        room.archived = event.kind === "archive";
        this.appendItem(room, itemFrom(event));
        this.emit("rooms");
        this.emit("archived", { room });
        break;
      case "rename":
        // Live, the event names the room as we know it; it goes by its new name from now on
        // (a page that was away meets it under the new name in the next welcome).
        this.rename(room, event.text);
        this.appendItem(room, itemFrom(event));
        break;
      case "role":
      case "kick":
      case "ban":
      case "unban":
      case "mute":
      case "unmute":
      case "settings":
        this.moderationEvent(room, event);
        break;
      default:
        // A kind this page does not know yet: the seq still counts, nothing is shown.
        break;
    }
  }

  /** A moderation event: shown in the timeline; it changes roles, members or settings. */
  moderationEvent(room, event) {
    this.appendItem(room, itemFrom(event));
    if (event.kind === "role" && this.isMe(event.user)) room.role = event.text || "member";
    if (event.kind === "settings" && event.settings) room.settings = event.settings;
    if (event.kind === "role" && room.roles) {
      room.roles = room.roles.filter((h) => userKey(h.user) !== userKey(event.user));
      if (event.text && event.text !== "member") room.roles.push({ user: event.user, role: event.text });
    }
    if ((event.kind === "kick" || event.kind === "ban") && room.memberList) {
      room.memberList.delete(userKey(event.user));
      this.emit("members", { room });
    }
    this.emit("moderation", { room, event });
  }

  /** What `room_settings` answered: the user's role in the room, its settings and roles. */
  moderated(room, reply) {
    room.role = reply.role;
    room.settings = reply.settings;
    room.roles = reply.roles;
    this.emit("moderation", { room });
  }

  /** May the user moderate the room (delete any message, remove, ban, mute)? */
  canModerate(room) {
    return Boolean(room) && (this.admin || room.role === "owner" || room.role === "moderator");
  }

  /** May the user name moderators and change the room's settings? */
  isOwner(room) {
    return Boolean(room) && (this.admin || room.role === "owner");
  }

  rename(room, name) {
    if (!name || name === room.name) return;
    const from = room.name;
    this.rooms.delete(from);
    room.name = name;
    this.rooms.set(name, room);
    if (this.active === from) this.active = name;
    this.emit("rooms");
    this.emit("renamed", { room, from });
  }

  /** The room was deleted by the operator: it is gone, with its history. */
  removeRoom(name) {
    const room = this.room(name);
    if (!room) return;
    room.member = false; // a page showing it moves on (app.js followMembership)
    room.pending = [];
    this.rooms.delete(room.name);
    this.emit("rooms");
  }

  appendItem(room, item) {
    room.items.push(item);
    if (item.kind === "message" && item.mid !== null) room.byMid.set(item.mid, item);
    this.emit("timeline", { room, kind: "append", item });
  }

  change(room, event) {
    const item = this.message(room, event.mid);
    if (!item) {
      // Not loaded (older than the history we have): remember it for when history brings it.
      const known = room.orphans.get(event.mid) || {};
      if (event.kind === "delete") known.deleted = true;
      else known.text = event.text ?? "";
      room.orphans.set(event.mid, known);
      return;
    }
    if (event.kind === "delete") {
      item.deleted = true;
      item.text = "";
      item.mentions = [];
      item.reactions = []; // erased with it (protocol: a deleted message has no reactions)
      if (item.pinned) (item.pinned = 0), this.emit("pins", { room });
      item.files = []; // the server stopped serving them
    } else if (!item.deleted) {
      item.text = event.text ?? "";
      item.edited = true;
      item.mentions = Array.isArray(event.mentions) ? event.mentions : [];
    }
    this.updated(room, item);
  }

  // -- threads, reactions, pins (issue 17) ---------------------------------------------------

  /** A message of the room this page holds: in the main timeline, or a reply it has seen. */
  message(room, mid) {
    return room.byMid.get(mid) || room.replies.get(mid);
  }

  /** A message changed: its node in the timeline and in an open thread are drawn again. */
  updated(room, item) {
    if (room.byMid.get(item.mid) === item) this.emit("timeline", { room, kind: "update", item });
    if (item.thread !== null || item.replies) this.emit("thread", { room, kind: "update", item });
  }

  /** A reply, live: kept for its thread's panel; its root's summary follows the event's. */
  reply(room, item, event) {
    room.replies.set(item.mid, item);
    this.emit("thread", { room, kind: "reply", item });
    this.summary(room, item.thread, event);
  }

  /** The server's summary of thread `root` (carried by a reply or a reply's delete). */
  summary(room, root, event) {
    const item = room.byMid.get(root);
    if (!item || event.replies === undefined) return;
    item.replies = event.replies;
    item.lastReplyTs = event.last_reply_ts || 0;
    item.repliers = Array.isArray(event.repliers) ? event.repliers : [];
    this.updated(room, item);
  }

  /** Keep a reply read from a thread's history (`history` with `thread`). */
  keepReply(room, event) {
    const known = room.replies.get(event.mid) || room.byMid.get(event.mid);
    if (known) return known;
    const item = itemFrom(event);
    if (item.mid !== null) room.replies.set(item.mid, item);
    return item;
  }

  /** A `reaction` event: the emoji's `count` is the server's; its `users` follow the event. */
  reaction(room, event) {
    const item = this.message(room, event.mid);
    if (!item || item.deleted) return;
    let entry = item.reactions.find((r) => r.emoji === event.emoji);
    if (!entry) {
      entry = { emoji: event.emoji, count: 0, users: [] };
      item.reactions.push(entry);
    }
    const key = userKey(event.user);
    if (event.removed) entry.users = entry.users.filter((name) => userKey(name) !== key);
    else if (entry.users.length < 10 && !entry.users.some((name) => userKey(name) === key)) entry.users.push(event.user);
    entry.count = event.count ?? entry.users.length;
    if (entry.count <= 0) item.reactions = item.reactions.filter((r) => r !== entry);
    this.updated(room, item);
  }

  /** A `pin` / `unpin` event. */
  pin(room, event) {
    const item = this.message(room, event.mid);
    if (item) {
      item.pinned = event.kind === "pin" ? event.seq : 0;
      this.updated(room, item);
    }
    this.emit("pins", { room });
  }

  /** Older events (`history` reply), all below room.oldestSeq. */
  history(room, events, more) {
    const older = [];
    for (const event of events) {
      if (event.seq >= room.oldestSeq) continue; // overlaps what we have
      // History carries messages in their current state: edit and delete events add nothing.
      if (!VISIBLE_KINDS.has(event.kind) || !inMainTimeline(event)) continue;
      const item = itemFrom(event);
      const orphan = item.mid !== null ? room.orphans.get(item.mid) : undefined;
      if (orphan) {
        if (orphan.deleted) {
          item.deleted = true;
          item.text = "";
          item.files = [];
        } else if (orphan.text !== undefined && !item.deleted) {
          item.text = orphan.text;
          item.edited = true;
        }
        room.orphans.delete(item.mid);
      }
      older.push(item);
    }
    const lowest = events.length ? events[0].seq : room.oldestSeq;
    room.oldestSeq = Math.min(room.oldestSeq, lowest);
    room.hasMore = Boolean(more) && room.oldestSeq > 1;
    room.items = older.concat(room.items);
    for (const item of older) {
      if (item.kind !== "message" || item.mid === null) continue;
      room.byMid.set(item.mid, item);
      this.settlePending(room, item); // a message restored after a reload that was stored after all
    }
    this.emit("timeline", { room, kind: "prepend", count: older.length });
  }

  // -- sending --------------------------------------------------------------------------

  addPending(room, pending) {
    room.pending.push(pending);
    this.emit("pending", { room, scroll: true });
  }

  pendingByCid(cid) {
    for (const room of this.rooms.values()) {
      const pending = room.pending.find((p) => p.cid === cid);
      if (pending) return { room, pending };
    }
    return null;
  }

  /** Our message is in the timeline now: it is no longer pending (matched by its cid). */
  settlePending(room, event) {
    if (!event.cid || !this.isMe(event.user)) return;
    const before = room.pending.length;
    room.pending = room.pending.filter((p) => p.cid !== event.cid);
    if (room.pending.length !== before) this.emit("pending", { room });
  }

  /** `ack`: stored. The event itself arrives on the stream (usually just before the ack). */
  ack(ack) {
    const found = this.pendingByCid(ack.cid);
    if (!found) return;
    const { room, pending } = found;
    if (ack.seq <= room.lastSeq) {
      room.pending = room.pending.filter((p) => p !== pending);
    } else {
      pending.state = "sent";
      pending.seq = ack.seq;
    }
    this.emit("pending", { room });
  }

  failPending(cid, message) {
    const found = this.pendingByCid(cid);
    if (!found) return;
    found.pending.state = "failed";
    found.pending.error = message;
    this.emit("pending", { room: found.room });
  }

  discardPending(room, cid) {
    room.pending = room.pending.filter((p) => p.cid !== cid);
    this.emit("pending", { room });
  }

  // -- presence and typing --------------------------------------------------------------

  members(room, names, online, profiles = {}) {
    room.memberList = new Map(names.map((name) => [userKey(name), name]));
    for (const name of online) this.online.add(userKey(name));
    // A member the reply has no profile for has none (`who` lists only those who do).
    for (const name of names) this.setProfile(name, profiles[name] || {});
    this.emit("members", { room });
    this.emit("presence");
  }

  markOnline(names) {
    for (const name of names) this.online.add(userKey(name));
    this.emit("presence");
  }

  presence(msg) {
    const key = userKey(msg.user);
    if (msg.online) this.online.add(key);
    else if (!this.isMe(msg.user)) this.online.delete(key);
    this.emit("presence");
  }

  // -- profiles -------------------------------------------------------------------------

  /** Someone's display name and avatar id (`""` when none), as last heard. */
  profile(name) {
    return this.profiles.get(userKey(name)) || { display_name: "", avatar: "", version: 0 };
  }

  /** The name to show for a user: their display name, else their user name. */
  displayName(name) {
    return this.profile(name).display_name || name;
  }

  /** A user in plain text (a notice, a notification's title, a label): the display name
   *  with the user name beside it, "Alice Liddell (@alice)", since anyone may take any
   *  display name; the user name alone when there is none. Views drawing elements use
   *  views/names.js instead. */
  nameWithHandle(name) {
    const shown = this.displayName(name);
    return shown === name ? name : `${shown} (@${name})`;
  }

  /** A profile heard of (welcome, who, or a `profile` notice): views redraw only on a change. */
  setProfile(name, info) {
    const key = userKey(name);
    const old = this.profile(name);
    const display = typeof info.display_name === "string" ? info.display_name : "";
    const avatar = typeof info.avatar === "string" ? info.avatar : "";
    if (display === old.display_name && avatar === old.avatar) return;
    this.profiles.set(key, { display_name: display, avatar, version: old.version + 1 });
    this.emit("profile", { user: name });
  }

  isOnline(name) {
    return this.online.has(userKey(name));
  }

  typingStarted(msg) {
    const room = this.rooms.get(msg.room);
    if (!room || this.isMe(msg.user)) return;
    room.typing.set(userKey(msg.user), { name: msg.user, until: Date.now() + TYPING_SHOWN_FOR });
    this.emit("typing", { room });
  }

  typingStopped(room, user) {
    if (room.typing.delete(userKey(user))) this.emit("typing", { room });
  }

  /** Forget typing notices that are too old; called every second. */
  expireTyping() {
    const now = Date.now();
    for (const room of this.rooms.values()) {
      let changed = false;
      for (const [key, typing] of room.typing) {
        if (typing.until <= now) {
          room.typing.delete(key);
          changed = true;
        }
      }
      if (changed) this.emit("typing", { room });
    }
  }

  /** The server moved our read marker (this tab or another). */
  unread(msg) {
    const room = this.rooms.get(msg.room);
    if (!room) return;
    if (msg.thread) {
      this.emit("thread-unread", { room, msg }); // a thread's marker: not the room's counts
      return;
    }
    room.readSent = Math.max(room.readSent, msg.read);
    const here = this.active === room.name && this.viewing;
    room.unread = here ? 0 : msg.unread;
    room.mentions = here ? 0 : msg.mentions || 0;
    this.emit("rooms");
  }

  /** My notification level of a room changed (`notify`, from this tab or another). */
  notifyLevel(msg) {
    const room = this.rooms.get(msg.room);
    if (!room) return;
    room.notify = msg.level;
    room.mutedUntil = msg.until || 0;
    this.emit("rooms");
  }

  /** Whether a message (or an edit, by what it added) mentions me: by name, or `@room` —
   *  never my own. The server decided whom it mentions; this only reads it. */
  mentionsMe(event) {
    return this.namesMe(event, event.kind === "edit" ? event.mentions_added : event.mentions);
  }

  /** Whether `names` (a list of an event's, maybe missing) name me or everyone, in an event
   *  by someone else. */
  namesMe(event, names) {
    if (this.isMe(event.user) || !Array.isArray(names)) return false;
    return names.some((name) => name === ROOM_MENTION || this.isMe(name));
  }

  /** An edit that added or removed a mention of me, or a delete that retracted one: the
   *  unread mention count follows (the next `unread` notice or welcome has the exact one). */
  mentionChange(room, event) {
    if (room.replies.has(event.mid) && !room.byMid.has(event.mid)) return; // a reply's: its thread counts it
    const unreadHere = event.mid !== null && !(this.active === room.name && this.viewing);
    const item = room.byMid.get(event.mid);
    const unread = unreadHere && (!item || item.seq > Math.max(room.readSent, room.baseline));
    if (!unread) return;
    if (this.namesMe(event, event.mentions_added)) {
      room.mentions += 1;
      this.emit("message", { room, event, mentioned: true });
    }
    if (this.namesMe(event, event.mentions_removed)) room.mentions = Math.max(0, room.mentions - 1);
    this.emit("rooms");
  }

  totalUnread() {
    let total = 0;
    for (const room of this.rooms.values()) if (room.member) total += room.unread;
    return total;
  }

  totalMentions() {
    let total = 0;
    for (const room of this.rooms.values()) if (room.member) total += room.mentions;
    return total;
  }
}
