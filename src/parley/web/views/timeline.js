// The open room's messages: grouped by author and day, with history loaded on scrolling up,
// kept pinned to the newest message unless the user scrolled away (then "new messages ↓").
//
// Each timeline item gets one DOM node, built once and reused (a WeakMap from item to node):
// live events append a node, edits replace one, and loading history rebuilds the list from the
// cached nodes while keeping the same message under the user's eyes.

import { el, icon } from "../dom.js";
import { dayLabel, fullTime, sameDay, shortTime, time } from "../format.js";
import { renderText } from "../richtext.js";
import { userKey } from "../store.js";
import { isImage } from "../uploads.js";
import { avatar } from "./avatar.js";
import { filesNode } from "./files.js";
import { pageLightbox } from "./lightbox.js";
import { editForm, editedMark, messageFooter, refocus, revealMessage, socialButtons } from "./messagebits.js";
import { moderationText } from "./moderation.js";
import { nameNodes } from "./names.js";

const GROUP_GAP = 5 * 60 * 1000; // a message within 5 minutes of the author's previous one joins its group
const NEAR_BOTTOM = 48; // px: closer than this to the end counts as "at the bottom"
const NEAR_TOP = 600; // px: closer than this to the top loads older messages

// Where avatars were made before views/avatar.js (other views import it from here).
export { avatar };

function timeNode(ts, className, text = time(ts)) {
  return el("time", { class: className, datetime: new Date(ts).toISOString(), title: fullTime(ts), text });
}

export class TimelineView {
  /**
   * @param {import("../store.js").Store} store
   * @param {import("../client.js").ChatClient} client
   * @param {{confirm: Function, toast: Function, focusComposer: Function, bits: import("./messagebits.js").MessageContext}} ui
   */
  constructor(store, client, ui) {
    this.store = store;
    this.client = client;
    this.ui = ui;
    this.scroller = document.getElementById("timeline");
    this.list = document.getElementById("messages");
    this.pendingList = document.getElementById("pending");
    this.status = document.getElementById("history-status");
    this.jump = document.getElementById("jump");
    this.room = null;
    this.pinned = true;
    this.unseen = 0;
    this.nodes = new WeakMap();
    this.drawnWith = new WeakMap(); // node -> the profile versions it shows (profileStamp)
    this.lightbox = pageLightbox();
    this.editing = null; // {item, node}
    this.stickQueued = false;
    this.stickForced = false;

    this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    // The composer growing, the keyboard opening on a phone ...: stay at the bottom if we were.
    new ResizeObserver(() => {
      if (this.pinned) this.toBottom();
    }).observe(this.scroller);
    this.jump.addEventListener("click", () => {
      this.toBottom();
      this.ui.focusComposer();
    });
    document.addEventListener("visibilitychange", () => this.updateViewing());
    store.on("timeline", (detail) => this.onTimeline(detail));
    store.on("profile", ({ user }) => this.profileChanged(user));
    store.on("pending", ({ room, scroll }) => {
      if (room !== this.room) return;
      this.renderPending();
      if (scroll || this.pinned) this.stick(Boolean(scroll));
    });
  }

  // -- showing a room --------------------------------------------------------------------

  show(room) {
    const s = this.scroller;
    if (this.room && this.room !== room) {
      this.room.scroll = this.pinned ? null : s.scrollHeight - s.scrollTop - s.clientHeight;
    }
    this.endEdit();
    this.room = room || null;
    this.unseen = 0;
    if (!this.room) {
      this.list.replaceChildren();
      this.pendingList.replaceChildren();
      this.status.textContent = "";
      this.renderJump();
      return;
    }
    this.list.setAttribute("aria-label", `Messages in ${this.label(room)}`);
    this.renderAll();
    if (room.scroll === null) {
      this.toBottom();
    } else {
      s.scrollTop = s.scrollHeight - s.clientHeight - room.scroll;
      this.pinned = false;
    }
    this.renderJump();
    this.refresh();
    // Opening a room at its newest message reads it now, not after the batching delay: a
    // quick look at a room clears its count as well.
    if (this.store.viewing) this.client.markRead();
  }

  /** After a (re)connection or a reset: load what is missing. */
  refresh() {
    if (!this.room) return;
    this.client.ensureLoaded(this.room);
    this.maybeLoadOlder();
    this.updateViewing();
  }

  label(room) {
    return room.kind === "direct" ? this.store.title(room) : `#${room.name}`;
  }

  onTimeline({ room, kind, item }) {
    if (room !== this.room) return;
    switch (kind) {
      case "append":
        this.append(item);
        break;
      case "update":
        this.update(item);
        break;
      case "prepend":
        this.prepend();
        break;
      case "reset":
        this.renderAll();
        this.toBottom();
        this.refresh();
        break;
      case "loading":
        this.renderStatus();
        break;
      default:
        break;
    }
  }

  // -- rendering -------------------------------------------------------------------------

  shown(item) {
    // Joins in a direct room are the room's creation: noise, not news.
    return !(this.room.kind === "direct" && item.kind === "join");
  }

  continues(prev, item) {
    return (
      prev !== null &&
      prev.kind === "message" &&
      item.kind === "message" &&
      prev.user.toLowerCase() === item.user.toLowerCase() &&
      item.ts - prev.ts < GROUP_GAP &&
      sameDay(prev.ts, item.ts)
    );
  }

  dayNode(ts) {
    const label = dayLabel(ts);
    return el("li", { class: "day", role: "separator", "aria-label": label }, el("span", { text: label }));
  }

  renderAll() {
    const nodes = [];
    let prev = null;
    for (const item of this.room.items) {
      if (!this.shown(item)) continue;
      if (prev === null || !sameDay(prev.ts, item.ts)) nodes.push(this.dayNode(item.ts));
      const node = this.nodeFor(item);
      node.classList.toggle("cont", this.continues(prev, item));
      nodes.push(node);
      prev = item;
    }
    this.list.setAttribute("aria-busy", "true");
    this.list.replaceChildren(...nodes);
    this.list.removeAttribute("aria-busy");
    this.renderPending();
    this.renderStatus();
  }

  lastShown(before) {
    const items = this.room.items;
    for (let i = items.lastIndexOf(before) - 1; i >= 0; i -= 1) if (this.shown(items[i])) return items[i];
    return null;
  }

  append(item) {
    if (!this.shown(item)) return;
    const prev = this.lastShown(item);
    if (prev === null || !sameDay(prev.ts, item.ts)) this.list.append(this.dayNode(item.ts));
    const node = this.nodeFor(item);
    node.classList.toggle("cont", this.continues(prev, item));
    this.list.append(node);
    if (this.room.pending.length) this.renderPending(); // grouping with the last message
    if (this.pinned) {
      this.stick();
    } else if (item.kind === "message" && !this.store.isMe(item.user)) {
      this.unseen += 1;
      this.renderJump();
    }
  }

  /** Scroll to the message of `seq` and flash it (a notification was clicked). */
  reveal(seq) {
    revealMessage(this.list, seq);
  }

  update(item) {
    const old = this.nodes.get(item);
    if (!old) return;
    if (this.editing && this.editing.item === item) {
      if (!item.deleted) return; // shown when the edit ends
      this.editing = null;
    }
    const node = this.build(item);
    node.classList.toggle("cont", old.classList.contains("cont"));
    const focused = old.contains(document.activeElement) ? document.activeElement : null;
    old.replaceWith(node);
    this.nodes.set(item, node);
    if (focused && (item.deleted || !refocus(focused, node))) this.ui.focusComposer();
  }

  prepend() {
    const s = this.scroller;
    const fromBottom = s.scrollHeight - s.scrollTop;
    this.renderAll();
    if (this.pinned) this.toBottom();
    else s.scrollTop = s.scrollHeight - fromBottom; // the same message stays where it was
    // Still near the top (a short page, or a screen taller than the history)? Keep going.
    requestAnimationFrame(() => this.maybeLoadOlder());
  }

  renderStatus() {
    const room = this.room;
    if (!room) return;
    let text = "";
    if (room.loading) text = "Loading older messages…";
    else if (!room.hasMore && room.member) {
      text =
        room.kind === "direct"
          ? `This is the beginning of your conversation with ${this.store.title(room)}.`
          : `This is the very beginning of #${room.name}.`;
    }
    this.status.textContent = text;
    this.status.classList.toggle("beginning", !room.loading && !room.hasMore);
  }

  nodeFor(item) {
    let node = this.nodes.get(item);
    // A node drawn before someone it names changed their avatar or name is drawn again.
    if (!node || this.drawnWith.get(node) !== this.profileStamp(item)) {
      node = this.build(item);
      this.nodes.set(item, node);
    }
    return node;
  }

  build(item) {
    const node = item.kind === "message" ? this.messageNode(item) : this.noticeNode(item);
    this.drawnWith.set(node, this.profileStamp(item));
    return node;
  }

  /** The versions of the profiles a node of `item` shows: its author's, and the other
   *  person's of a notice ("invited by", "banned by"). */
  profileStamp(item) {
    const version = (name) => (name ? this.store.profile(name).version : 0);
    return `${version(item.user)}:${version(item.by)}`;
  }

  /** Someone's avatar or display name changed: their messages on screen show the new ones
   *  (the others' are drawn again when shown, by nodeFor). */
  profileChanged(user) {
    if (!this.room) return;
    const key = userKey(user);
    // Messages by them, and notices naming them (joined, invited by, moderated by).
    const names = (item) => userKey(item.user || "") === key || userKey(item.by || "") === key;
    for (const item of this.room.items) {
      if (names(item) && this.nodes.has(item)) this.update(item);
    }
    this.renderStatus(); // "the beginning of your conversation with …"
    if (this.store.isMe(user)) this.renderPending();
  }

  /** The images of the open room's loaded messages, in order: the lightbox steps through them. */
  openImage(file, opener) {
    const images = [];
    for (const item of this.room ? this.room.items : []) {
      if (item.kind === "message" && !item.deleted) images.push(...item.files.filter(isImage));
    }
    const index = images.findIndex((image) => image.id === file.id);
    if (index < 0) this.lightbox.open([file], 0, opener); // a message still being sent
    else this.lightbox.open(images, index, opener);
  }

  noticeNode(item) {
    const who = this.store.isMe(item.user) ? "You" : this.store.nameWithHandle(item.user);
    let text;
    if (item.kind === "join") text = item.by ? `${who} joined, invited by ${this.store.nameWithHandle(item.by)}` : `${who} joined`;
    else if (item.kind === "leave") text = `${who} left`;
    else if (item.kind === "topic") text = item.text ? `${who} set the topic: ${item.text}` : `${who} cleared the topic`;
    else if (item.kind === "rename") text = `The room was renamed from #${item.previous} to #${item.text}`;
    else if (item.kind === "archive") text = "The room was archived: its history stays, nothing more can be posted";
    else if (item.kind === "unarchive") text = "The room is open again";
    else text = moderationText(item, who, this.store) ?? `${who}: ${item.kind}`;
    return el("li", { class: "notice", "data-seq": item.seq }, el("span", { class: "notice-text", text }), timeNode(item.ts, "notice-time"));
  }

  messageNode(item) {
    const mine = this.store.isMe(item.user);
    // Messages can be focused (tabindex -1): on a touch screen, a tap shows their actions.
    const toMe = !mine && !item.deleted && this.store.mentionsMe({ kind: "message", user: item.user, mentions: item.mentions });
    const node = el("li", { class: `msg${mine ? " mine" : ""}${toMe ? " mentions-me" : ""}`, "data-seq": item.seq, tabindex: "-1" });
    // The gutter is as wide as an avatar: "10:47 PM" did not fit and ran into the text.
    node.append(avatar(item.user, this.store.profile(item.user)), timeNode(item.ts, "gutter-time", shortTime(item.ts)));
    const head = el(
      "div",
      { class: "msg-head" },
      nameNodes(this.store, item.user),
      item.guest ? el("span", { class: "tag", text: "guest" }) : null,
      mine ? el("span", { class: "you", text: "you" }) : null,
      timeNode(item.ts, "msg-time"),
    );
    node.append(el("div", { class: "msg-main" }, head, this.body(item), messageFooter(this.ui.bits, this.room, item)));
    // Everyone reacts, replies and pins (the server says who may pin); authors edit and delete
    // their messages; the room's moderators and owners, and admins, may also delete anyone's
    // (moderation).
    const social = socialButtons(this.ui.bits, this.room, item);
    if (social.length) {
      const own = (mine || this.store.canModerate(this.room)) && !item.deleted && item.mid !== null;
      node.append(
        el(
          "div",
          { class: "msg-actions" },
          social,
          own && mine
            ? el("button", { type: "button", class: "icon-button", "aria-label": "Edit message", title: "Edit", onclick: () => this.startEdit(item) }, icon("edit"))
            : null,
          own ? el("button", { type: "button", class: "icon-button", "aria-label": "Delete message", title: "Delete", onclick: () => this.confirmDelete(item) }, icon("trash")) : null,
        ),
      );
    }
    return node;
  }

  body(item) {
    if (item.deleted) return el("div", { class: "msg-body" }, el("p", { class: "text deleted", text: "This message was deleted." }));
    // A message of files only has no text line.
    let text = null;
    if (item.text || !item.files.length) {
      text = el("div", { class: "text" });
      text.append(this.formatted(item.text, item.mentions));
    }
    return el(
      "div",
      { class: "msg-body" },
      text,
      editedMark(this.ui.bits, this.room, item),
      item.files.length ? filesNode(item.files, (file, opener) => this.openImage(file, opener)) : null,
    );
  }

  /** A message's text, formatted (richtext.js): mentions of me stand out, known rooms are links. */
  formatted(text, mentions = []) {
    return renderText(text, {
      mentions: mentions || [],
      isMe: (name) => this.store.isMe(name),
      isRoom: (name) => Boolean(this.store.room(name)),
    });
  }

  // -- messages being sent -----------------------------------------------------------------

  renderPending() {
    const room = this.room;
    let prev = null;
    for (let i = room.items.length - 1; i >= 0; i -= 1) {
      if (this.shown(room.items[i])) {
        prev = room.items[i];
        break;
      }
    }
    const nodes = room.pending.map((pending) => {
      const now = Date.now();
      const fake = { kind: "message", user: this.store.me, ts: now };
      const node = this.pendingNode(room, pending);
      node.classList.toggle("cont", this.continues(prev, fake));
      prev = fake;
      return node;
    });
    this.pendingList.replaceChildren(...nodes);
  }

  pendingNode(room, pending) {
    const me = this.store.me;
    const text = pending.text || !pending.files.length ? el("div", { class: "text" }) : null;
    text?.append(this.formatted(pending.text));
    const files = pending.files.length ? filesNode(pending.files, (file, opener) => this.openImage(file, opener)) : null;
    const status = el("p", { class: "send-status" });
    if (pending.state === "sending") status.append("Sending…");
    else if (pending.state === "sent") status.append("Sent");
    else {
      status.append(
        el("span", { class: "failed", text: "Failed — " }),
        el("button", { type: "button", class: "link-button", onclick: () => this.client.retry(room, pending.cid) }, icon("retry"), "Retry"),
        el("button", { type: "button", class: "link-button", onclick: () => this.client.discard(room, pending.cid) }, "Discard"),
        pending.error ? el("span", { class: "send-error", text: pending.error }) : null,
      );
    }
    return el(
      "li",
      { class: `msg mine is-${pending.state}`, "data-cid": pending.cid },
      avatar(me, this.store.profile(me)),
      el("span", { class: "gutter-time" }),
      el(
        "div",
        { class: "msg-main" },
        el("div", { class: "msg-head" }, el("span", { class: "author", text: this.store.displayName(me) }), el("span", { class: "you", text: "you" })),
        el("div", { class: "msg-body" }, text, files),
        status,
      ),
    );
  }

  // -- editing and deleting ------------------------------------------------------------------

  /** ↑ in an empty composer: edit my newest message (as in Slack). */
  editLast() {
    if (!this.room) return false;
    const items = this.room.items;
    for (let i = items.length - 1; i >= 0; i -= 1) {
      const item = items[i];
      if (item.kind === "message" && !item.deleted && item.mid !== null && this.store.isMe(item.user)) {
        this.startEdit(item);
        return true;
      }
    }
    return false;
  }

  startEdit(item) {
    this.endEdit();
    const node = this.nodes.get(item);
    if (!node) return;
    const room = this.room;
    const { form, input } = editForm(item, {
      save: async (text) => {
        await this.client.edit(room, item, text);
        if (this.editing && this.editing.item === item) this.endEdit();
        this.ui.focusComposer();
      },
      close: (focusBack) => {
        this.endEdit();
        if (focusBack) this.ui.focusComposer();
      },
      toast: this.ui.toast,
    });
    node.classList.add("editing");
    node.querySelector(".msg-body").replaceWith(form);
    this.editing = { item, node };
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    node.scrollIntoView({ block: "nearest" });
  }

  endEdit() {
    if (!this.editing) return;
    const { item, node } = this.editing;
    this.editing = null;
    if (this.nodes.get(item) === node) this.update(item);
  }

  async confirmDelete(item) {
    const room = this.room;
    const yes = await this.ui.confirm();
    if (!yes) {
      this.ui.focusComposer();
      return;
    }
    try {
      await this.client.remove(room, item);
    } catch (error) {
      this.ui.toast(`Could not delete the message: ${error.message}`);
    }
    this.ui.focusComposer();
  }

  // -- scrolling ---------------------------------------------------------------------------

  onScroll() {
    const s = this.scroller;
    this.pinned = s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM;
    if (this.pinned && this.unseen) {
      this.unseen = 0;
      this.renderJump();
    }
    this.updateViewing();
    this.maybeLoadOlder();
  }

  maybeLoadOlder() {
    const room = this.room;
    if (room && room.member && room.hasMore && !room.loading && this.scroller.scrollTop < NEAR_TOP) {
      this.client.loadOlder(room);
    }
  }

  toBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.pinned = true;
    if (this.unseen) {
      this.unseen = 0;
      this.renderJump();
    }
    this.updateViewing();
  }

  /**
   * Scroll to the newest message once the browser has laid out what was just added, unless
   * the user scrolled away meanwhile (`force`: my own new message, shown whatever happens).
   */
  stick(force = false) {
    this.stickForced = this.stickForced || force;
    if (this.stickQueued) return;
    this.stickQueued = true;
    requestAnimationFrame(() => {
      const forced = this.stickForced;
      this.stickQueued = false;
      this.stickForced = false;
      if (forced || this.pinned) this.toBottom();
    });
  }

  renderJump() {
    const show = this.unseen > 0 && !this.pinned;
    this.jump.hidden = !show;
    if (show) {
      this.jump.firstChild.textContent = this.unseen === 1 ? "1 new message " : `${this.unseen} new messages `;
    }
  }

  updateViewing() {
    const viewing = Boolean(this.room) && document.visibilityState === "visible" && this.pinned;
    this.store.viewing = viewing;
    if (viewing) this.client.scheduleRead();
  }
}
