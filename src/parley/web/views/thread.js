// The thread panel: a thread's root and its replies beside the room, with a reply box and an
// "Also send to the room" checkbox (a broadcast reply). Opened from a root's reply count or
// its "Reply in thread" button; Escape or the close button closes it and gives the focus
// back. On a wide screen it is a column beside the timeline; on a phone it covers the room.
//
// Replies come from `history` with `thread` (the first page, then older ones on demand) and
// live from the store ("thread" notices); reading them moves the thread's own read marker.
// The Follow button says what the server says: the page's `following`, then `follow` notices
// (store.follows keeps a notice that overtook the page).

import { el, icon } from "../dom.js";
import { fullTime, time } from "../format.js";
import { renderText } from "../richtext.js";
import { userKey } from "../store.js";
import { editForm, editedMark, messageFooter, refocus, revealMessage, socialButtons } from "./messagebits.js";
import { avatar } from "./avatar.js";
import { filesNode } from "./files.js";
import { nameNodes } from "./names.js";
import { pageLightbox } from "./lightbox.js";

export class ThreadView {
  /**
   * @param {import("./messagebits.js").MessageContext} bits
   * @param {{onToggle: (open: boolean) => void}} ui
   */
  constructor(store, client, bits, ui) {
    this.store = store;
    this.lightbox = pageLightbox();
    this.client = client;
    this.bits = bits;
    this.ui = ui;
    this.room = null;
    this.root = null; // the root's mid
    this.rootItem = null;
    this.nodes = new Map(); // item -> node
    this.following = false;
    this.opener = null;
    this.editing = null; // {item, node}: a message of the panel being edited

    this.title = el("h2", { id: "thread-title", class: "panel-title", text: "Thread" });
    this.where = el("span", { class: "panel-count" });
    this.followButton = el("button", { type: "button", class: "ghost small-text", onclick: () => this.toggleFollow() }, "Follow");
    this.closeButton = el("button", { type: "button", class: "icon-button", "aria-label": "Close the thread", onclick: () => this.close() }, "✕");
    this.status = el("p", { class: "history-status", role: "status" });
    this.older = el("button", { type: "button", class: "ghost wide", hidden: true, onclick: () => this.loadOlder() }, "Older replies");
    this.rootBox = el("div", { class: "thread-root" });
    this.list = el("ol", { class: "messages thread-replies", role: "log", "aria-label": "Replies" });
    this.input = el("textarea", { id: "thread-text", rows: "2", maxlength: "4000", "aria-label": "Reply", placeholder: "Reply…" });
    this.broadcast = el("input", { id: "thread-broadcast", type: "checkbox" });
    this.broadcastLabel = el("label", { for: "thread-broadcast", text: "Also send to the room" });
    this.sendButton = el("button", { type: "submit", class: "primary small-text" }, "Reply");
    this.form = el(
      "form",
      { class: "thread-composer", autocomplete: "off", onsubmit: (event) => (event.preventDefault(), this.send()) },
      this.input,
      el("div", { class: "thread-composer-foot" }, el("span", { class: "field checkbox" }, this.broadcast, this.broadcastLabel), this.sendButton),
    );
    this.scroller = el("div", { class: "thread-scroll" }, this.older, this.rootBox, this.status, this.list);
    this.panel = el(
      "aside",
      { id: "thread-panel", class: "thread-panel", "aria-labelledby": "thread-title", hidden: true },
      el("div", { class: "panel-head" }, el("div", { class: "thread-heading" }, this.title, this.where), this.followButton, this.closeButton),
      this.scroller,
      this.form,
    );
    document.getElementById("chat").append(this.panel);

    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented) {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      }
    });
    store.on("thread", ({ room, kind, item }) => this.onThread(room, kind, item));
    store.on("follow", (msg) => {
      if (this.room && msg.room === this.room.name && msg.thread === this.root) this.setFollowing(msg.following);
    });
    store.on("profile", ({ user }) => this.profileChanged(user));
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  /** Show the thread of `item` (a root, or a reply: its root's thread); `reveal`: the seq of
   *  a reply to bring into view (a notification's). */
  async open(room, item, { reveal = 0 } = {}) {
    this.opener = document.activeElement;
    this.room = room;
    this.root = item.thread ?? item.mid;
    this.rootItem = null;
    this.editing = null;
    this.nodes.clear();
    this.list.replaceChildren();
    this.rootBox.replaceChildren();
    this.older.hidden = true;
    this.where.textContent = room.kind === "direct" ? this.store.title(room) : `#${room.name}`;
    this.broadcastLabel.textContent = room.kind === "direct" ? "Also send to the conversation" : `Also send to #${room.name}`;
    this.broadcast.checked = false;
    this.status.textContent = "Loading replies…";
    this.status.hidden = false;
    this.panel.hidden = false;
    this.ui.onToggle(true);
    this.input.focus();
    const token = (this.token = {});
    let page;
    try {
      page = await this.client.threadHistory(room, this.root);
    } catch (error) {
      if (token === this.token) this.status.textContent = `Could not load the thread: ${error.message}`;
      return;
    }
    if (token !== this.token) return;
    this.rootItem = page.root || room.byMid.get(this.root) || item;
    this.setFollowing(Boolean(page.following));
    this.rootBox.replaceChildren(this.node(this.rootItem, true));
    for (const reply of page.replies) this.list.append(this.nodeFor(reply));
    this.older.hidden = !page.more;
    this.renderStatus();
    this.scroller.scrollTop = this.scroller.scrollHeight;
    if (reveal) this.reveal(reveal);
    this.markRead();
  }

  /** Bring the reply of `seq` into view, flashed and focused (if it is on the page). */
  reveal(seq) {
    revealMessage(this.list, seq)?.focus({ preventScroll: true });
  }

  async loadOlder() {
    const first = this.list.firstElementChild;
    const token = this.token;
    let page;
    try {
      page = await this.client.threadHistory(this.room, this.root, first ? Number(first.dataset.seq) : null);
    } catch (error) {
      this.bits.toast(`Could not load older replies: ${error.message}`);
      return;
    }
    if (token !== this.token) return;
    this.list.prepend(...page.replies.filter((reply) => !this.nodes.has(reply)).map((reply) => this.nodeFor(reply)));
    this.older.hidden = !page.more;
  }

  close() {
    if (!this.isOpen) return;
    this.token = null;
    this.editing = null;
    this.panel.hidden = true;
    this.ui.onToggle(false);
    if (this.opener && this.opener.isConnected) this.opener.focus();
    else this.bits.focusComposer?.();
  }

  renderStatus() {
    const count = this.list.children.length;
    this.status.textContent = count ? "" : "No replies yet: write the first one.";
    this.status.hidden = Boolean(count);
  }

  onThread(room, kind, item) {
    if (!this.isOpen || room !== this.room || !this.rootItem) return;
    if (kind === "reply" && item.thread === this.root && !this.nodes.has(item)) {
      const s = this.scroller;
      const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 48;
      this.list.append(this.nodeFor(item));
      this.renderStatus();
      if (atBottom || this.store.isMe(item.user)) s.scrollTop = s.scrollHeight;
      if (!this.store.isMe(item.user)) this.markRead();
    } else if (kind === "update") {
      if (this.editing && this.editing.item === item) {
        if (!item.deleted) return; // drawn when the edit ends
        this.editing = null;
      }
      this.redraw(item);
    }
  }

  /** Someone's display name or avatar changed: draw their messages of the panel again. */
  profileChanged(user) {
    if (!this.isOpen || !this.rootItem) return;
    const key = userKey(user);
    const theirs = [this.rootItem, ...this.nodes.keys()].filter((item) => userKey(item.user) === key);
    for (const item of theirs) if (!(this.editing && this.editing.item === item)) this.redraw(item);
    if (this.room.kind === "direct") this.where.textContent = this.store.title(this.room);
  }

  /** Draw a message of the panel again, keeping the keyboard focus where it was. */
  redraw(item) {
    const isRoot = item.mid === this.root;
    const old = isRoot ? this.rootBox.firstElementChild : this.nodes.get(item);
    if (!old) return;
    const focused = old.contains(document.activeElement) ? document.activeElement : null;
    const node = this.node(item, isRoot);
    old.replaceWith(node);
    if (isRoot) this.rootItem = item;
    else this.nodes.set(item, node);
    if (focused && !refocus(focused, node)) this.input.focus();
  }

  startEdit(item) {
    this.endEdit();
    const node = item.mid === this.root ? this.rootBox.firstElementChild : this.nodes.get(item);
    if (!node) return;
    const room = this.room;
    const { form, input } = editForm(item, {
      save: async (text) => {
        await this.client.edit(room, item, text);
        this.endEdit();
        this.input.focus();
      },
      close: (focusBack) => {
        this.endEdit();
        if (focusBack) this.input.focus();
      },
      toast: this.bits.toast,
    });
    node.classList.add("editing");
    node.querySelector(".msg-body").replaceWith(form);
    this.editing = { item, node };
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  endEdit() {
    if (!this.editing) return;
    const { item } = this.editing;
    this.editing = null;
    this.redraw(item);
  }

  nodeFor(item) {
    const node = this.node(item, false);
    this.nodes.set(item, node);
    return node;
  }

  /** One message of the thread (the root, or a reply), drawn like the timeline's. */
  node(item, isRoot) {
    const room = this.room;
    const body = item.deleted
      ? el("p", { class: "text deleted", text: isRoot ? "The message that started this thread was deleted." : "This reply was deleted." })
      : el("div", { class: "text" }, renderText(item.text, { mentions: item.mentions, isMe: (name) => this.store.isMe(name), isRoom: (name) => Boolean(this.store.room(name)?.member) }));
    const actions = socialButtons(this.bits, room, item, { inThread: true });
    // My messages can be edited here, and a reply of mine (anyone's, for an admin) deleted,
    // as in the timeline.
    if (!item.deleted && item.mid !== null && this.store.isMe(item.user)) {
      actions.push(el("button", { type: "button", class: "icon-button", "aria-label": "Edit message", title: "Edit", onclick: () => this.startEdit(item) }, icon("edit")));
    }
    if (!isRoot && !item.deleted && (this.store.isMe(item.user) || this.store.admin)) {
      actions.push(el("button", { type: "button", class: "icon-button", "aria-label": "Delete reply", title: "Delete", onclick: () => this.confirmDelete(item) }, icon("trash")));
    }
    return el(
      "li",
      { class: `msg${this.store.isMe(item.user) ? " mine" : ""}${isRoot ? " thread-root-msg" : ""}`, "data-seq": item.seq, "data-mid": item.mid, tabindex: "-1" },
      avatar(item.user, this.store.profile(item.user)),
      el("time", { class: "gutter-time", datetime: new Date(item.ts).toISOString(), title: fullTime(item.ts), text: "" }),
      el(
        "div",
        { class: "msg-main" },
        el(
          "div",
          { class: "msg-head" },
          nameNodes(this.store, item.user),
          el("time", { class: "msg-time", datetime: new Date(item.ts).toISOString(), title: fullTime(item.ts), text: time(item.ts) }),
          !isRoot && item.broadcast ? el("span", { class: "tag", text: "also sent to the room" }) : null,
        ),
        el(
          "div",
          { class: "msg-body" },
          body,
          editedMark(this.bits, room, item),
          // A reply's files: cards, and thumbnails that open in the lightbox.
          item.files?.length ? filesNode(item.files, (file, opener) => this.lightbox.open([file], 0, opener)) : null,
        ),
        messageFooter(this.bits, room, item, { inThread: true }),
      ),
      actions.length ? el("div", { class: "msg-actions" }, actions) : null,
    );
  }

  async send() {
    const text = this.input.value;
    if (!text.trim() || !this.room || this.root === null) return;
    this.input.disabled = true;
    this.sendButton.disabled = true;
    try {
      await this.client.reply(this.room, this.root, text, this.broadcast.checked);
      this.input.value = "";
      this.broadcast.checked = false;
    } catch (error) {
      // The text stays in the box: nothing typed is lost.
      this.bits.toast(`Could not send the reply: ${error.message}`);
    } finally {
      this.input.disabled = false;
      this.sendButton.disabled = false;
      this.input.focus();
    }
  }

  async confirmDelete(item) {
    const room = this.room;
    if (!(await this.bits.confirm())) {
      this.input.focus();
      return;
    }
    try {
      await this.client.remove(room, item);
    } catch (error) {
      this.bits.toast(`Could not delete the reply: ${error.message}`);
    }
    this.input.focus();
  }

  markRead() {
    const last = this.list.lastElementChild;
    if (!last || !this.room || document.visibilityState !== "visible") return;
    this.client.readThread(this.room, this.root, Number(last.dataset.seq));
  }

  /** A new connection: what was told while offline is lost, so the open thread asks again. */
  refreshFollowing() {
    if (!this.isOpen || !this.room || this.root === null) return;
    const { room, root } = this;
    this.client
      .following(room, root)
      .then((following) => {
        if (this.room === room && this.root === root) this.setFollowing(following);
      })
      .catch(() => {}); // offline again: the next connection asks
  }

  setFollowing(following) {
    this.following = following;
    this.followButton.textContent = following ? "Unfollow" : "Follow";
    this.followButton.setAttribute("aria-pressed", following ? "true" : "false");
  }

  async toggleFollow() {
    const stop = this.following;
    try {
      await this.client.follow(this.room, this.root, stop);
      this.setFollowing(!stop);
    } catch (error) {
      this.bits.toast(`Could not ${stop ? "unfollow" : "follow"} the thread: ${error.message}`);
    }
  }
}
