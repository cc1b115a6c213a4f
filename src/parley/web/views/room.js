// Around the timeline: the room's header (name, topic), the member panel (who is online, room
// actions), the composer with its typing indicator, and the connection banner.

import { el, icon } from "../dom.js";
import { typingText } from "../format.js";
import { userKey } from "../store.js";
import { avatar } from "./avatar.js";
import { nameNodes } from "./names.js";

// -- header and member panel ----------------------------------------------------------------

export class RoomView {
  constructor(store) {
    this.store = store;
    this.room = null;
    this.name = document.getElementById("room-name");
    this.topic = document.getElementById("room-topic");
    this.count = document.getElementById("member-count");
    this.members = document.getElementById("member-list");
    this.headingTitle = document.getElementById("members-title");
    this.headingOnline = document.getElementById("members-online");
    this.editTopic = document.getElementById("edit-topic");
    this.invite = document.getElementById("invite");
    this.leave = document.getElementById("leave-room");
    store.on("rooms", () => this.renderHeader());
    store.on("members", ({ room }) => room === this.room && this.renderMembers());
    // The header too: a direct room's dot is drawn before `who` answers (after a reload, the
    // welcome says nothing about presence) and must follow it like the list and the panel.
    store.on("presence", () => {
      this.renderHeader();
      this.renderMembers();
    });
    store.on("profile", () => {
      this.renderMembers();
      this.renderHeader(); // a direct room is titled with the other person's display name
    });
  }

  show(room) {
    this.room = room || null;
    this.renderHeader();
    this.renderMembers();
  }

  renderHeader() {
    const room = this.room;
    const store = this.store;
    if (!room) {
      this.name.textContent = "No room";
      this.topic.textContent = "Browse the public rooms or start a conversation.";
      for (const button of [this.editTopic, this.invite, this.leave]) button.hidden = true;
      return;
    }
    const direct = room.kind === "direct";
    this.name.replaceChildren(this.sigil(room), ...(direct ? nameNodes(store, store.peer(room), "room-title") : [room.name]));
    this.topic.textContent = direct ? "Direct message" : room.topic || "No topic";
    this.topic.classList.toggle("empty", !direct && !room.topic);
    this.editTopic.hidden = direct;
    this.invite.hidden = direct;
    this.leave.hidden = direct;
  }

  /** What stands before the room's name: a presence dot, the sidebar's lock icon, or "#". */
  sigil(room) {
    const store = this.store;
    if (room.kind === "direct") {
      return el("span", { class: store.isOnline(store.peer(room)) ? "presence online" : "presence", "aria-hidden": "true" });
    }
    // An SVG, not the 🔒 emoji: Debian's Chromium has no emoji font and drew an empty box.
    if (room.kind === "private") return icon("lock");
    return el("span", { class: "room-sigil", "aria-hidden": "true", text: "#" });
  }

  renderMembers() {
    const room = this.room;
    const store = this.store;
    if (!room) {
      this.members.replaceChildren();
      this.count.textContent = "0";
      this.renderHeading("Members", 0);
      return;
    }
    let names;
    if (room.memberList) names = [...room.memberList.values()];
    else if (room.kind === "direct") names = room.members;
    else names = [store.me];
    const rank = (name) => (store.isOnline(name) ? 0 : 1);
    names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, undefined, { sensitivity: "base" }));
    const online = names.filter((name) => store.isOnline(name)).length;
    this.count.textContent = String(online);
    this.members.replaceChildren(
      ...names.map((name) => {
        const on = store.isOnline(name);
        return el(
          "li",
          { class: on ? "member online" : "member", "data-user": userKey(name) },
          el(
            "span",
            { class: "member-avatar" },
            avatar(name, store.profile(name), "small"),
            el("span", { class: on ? "presence online" : "presence", "aria-hidden": "true" }),
          ),
          nameNodes(store, name, "member-name"),
          store.isMe(name) ? el("span", { class: "you", text: "you" }) : null,
          el("span", { class: "visually-hidden", text: on ? ", online" : ", offline" }),
        );
      }),
    );
    this.renderHeading(room.kind === "direct" ? "Conversation" : "Members", online);
  }

  /** The panel's heading: written here only, always "Members N online" (never without the
   *  count, which made it flip), title and count in separate boxes so it stays on one line. */
  renderHeading(title, online) {
    this.headingTitle.textContent = title;
    this.headingOnline.textContent = `${online} online`;
  }
}

// -- composer and typing indicator ---------------------------------------------------------

export class ComposerView {
  /**
   * @param {{onSend: Function, onTyping: Function, onEditLast: Function}} actions
   *   onSend(room, text, files): files are the FileInfo of the attached uploads
   * @param {import("./attachments.js").AttachmentsView} attachments  the files of the next send
   */
  constructor(store, actions, attachments) {
    this.attachments = attachments;
    this.store = store;
    this.actions = actions;
    this.room = null;
    this.form = document.getElementById("composer");
    this.input = document.getElementById("composer-text");
    this.label = document.getElementById("composer-label");
    this.typing = document.getElementById("typing");
    this.grow = !CSS.supports("field-sizing", "content");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => this.keydown(event));
    this.input.addEventListener("input", () => {
      if (this.room) this.room.draft = this.input.value;
      if (this.input.value.trim()) this.actions.onTyping(this.room);
      this.autosize();
      this.suggest();
    });
    this.input.addEventListener("blur", () => this.closeSuggestions());
    // `@` suggests the room's members (and @room): a listbox under the text, picked with Tab,
    // Enter or a click; Escape closes it.
    this.suggestions = el("ul", { id: "mention-suggestions", class: "mention-suggestions", role: "listbox", "aria-label": "Mention someone" });
    this.suggestions.hidden = true;
    this.form.querySelector(".composer-box").append(this.suggestions);
    this.picks = [];
    this.picked = 0;
    store.on("typing", ({ room }) => room === this.room && this.renderTyping());
    store.on("profile", () => this.renderTyping()); // names shown by their display names
  }

  show(room) {
    if (this.room) this.room.draft = this.input.value;
    this.closeSuggestions?.();
    this.room = room || null;
    this.attachments.show(this.room);
    this.form.hidden = !this.room;
    if (!this.room) return;
    const name = room.kind === "direct" ? this.store.title(room) : `#${room.name}`;
    this.label.textContent = `Message ${name}`;
    // An archived room is read-only: the box says so and takes nothing.
    this.input.disabled = room.archived;
    this.input.placeholder = room.archived ? `${name} is archived: it can be read, not written` : `Message ${name}`;
    this.input.value = room.draft;
    this.autosize();
    this.renderTyping();
  }

  keydown(event) {
    if (this.picks.length && !event.isComposing) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        this.picked = (this.picked + step + this.picks.length) % this.picks.length;
        this.renderSuggestions();
        return;
      }
      if (event.key === "Tab" || (event.key === "Enter" && !event.shiftKey)) {
        event.preventDefault();
        this.complete(this.picks[this.picked]);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        this.closeSuggestions();
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
      // Enter sends; Shift+Enter falls through and inserts a new line.
      event.preventDefault();
      this.submit();
    } else if (event.key === "ArrowUp" && !this.input.value && !event.shiftKey) {
      if (this.actions.onEditLast()) event.preventDefault();
    }
  }

  submit() {
    const text = this.input.value;
    if (!this.room) return;
    const room = this.room;
    if (!text.trim() && !room.attachments.some((item) => item.state !== "failed")) return;
    const files = this.attachments.take(room); // null: one is still uploading (the tray says so)
    if (files === null) return;
    if (!text.trim() && !files.length) return;
    this.actions.onSend(room, text.trim() ? text : "", files);
    this.input.value = "";
    this.room.draft = "";
    this.autosize();
    this.input.focus();
  }

  focus() {
    if (!this.form.hidden) this.input.focus({ preventScroll: true });
  }

  /** The `@word` being typed just before the caret, or null. */
  mentionAtCaret() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const match = /(^|[\s([{"'])@([A-Za-z0-9_.-]{0,32})$/.exec(before);
    return match ? { start: before.length - match[2].length - 1, prefix: match[2] } : null;
  }

  suggest() {
    const room = this.room;
    const at = room ? this.mentionAtCaret() : null;
    if (!at) return this.closeSuggestions();
    let names;
    if (room.memberList) names = [...room.memberList.values()];
    else names = room.kind === "direct" ? room.members : [];
    const prefix = at.prefix.toLowerCase();
    const picks = names.filter((name) => !this.store.isMe(name) && name.toLowerCase().startsWith(prefix));
    picks.sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }));
    if ("room".startsWith(prefix)) picks.push("room");
    this.picks = picks.slice(0, 8);
    this.picked = 0;
    this.renderSuggestions();
  }

  renderSuggestions() {
    this.suggestions.hidden = !this.picks.length;
    this.input.setAttribute("aria-expanded", this.picks.length ? "true" : "false");
    this.suggestions.replaceChildren(
      ...this.picks.map((name, index) =>
        el("li", {
          role: "option",
          class: index === this.picked ? "suggestion picked" : "suggestion",
          "aria-selected": index === this.picked ? "true" : "false",
          "data-name": name,
          text: name === "room" ? "@room — everyone here" : `@${name}`,
          // mousedown, not click: the textarea must not lose the caret first.
          onmousedown: (event) => {
            event.preventDefault();
            this.complete(name);
          },
        }),
      ),
    );
  }

  complete(name) {
    const at = this.mentionAtCaret();
    if (!at) return this.closeSuggestions();
    const value = this.input.value;
    const caret = this.input.selectionStart;
    const inserted = `@${name} `;
    this.input.value = value.slice(0, at.start) + inserted + value.slice(caret);
    const position = at.start + inserted.length;
    this.input.setSelectionRange(position, position);
    if (this.room) this.room.draft = this.input.value;
    this.closeSuggestions();
    this.autosize();
  }

  closeSuggestions() {
    this.picks = [];
    this.suggestions.hidden = true;
    this.suggestions.replaceChildren();
    this.input.setAttribute("aria-expanded", "false");
  }

  autosize() {
    if (!this.grow) return; // CSS field-sizing does it
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 200)}px`;
  }

  renderTyping() {
    const names = this.room ? [...this.room.typing.values()].map((t) => this.store.displayName(t.name)) : [];
    const text = typingText(names);
    if (this.typing.textContent !== text) this.typing.textContent = text;
  }
}

// -- connection banner -----------------------------------------------------------------------

export class BannerView {
  constructor(onReconnect) {
    this.banner = document.getElementById("banner");
    this.text = document.getElementById("banner-text");
    this.button = document.getElementById("reconnect-now");
    this.button.addEventListener("click", onReconnect);
    this.timer = 0;
    this.status = null;
    this.everOpen = false;
  }

  /** @returns {string} a one-word summary for the sidebar */
  show(status) {
    this.status = status;
    clearInterval(this.timer);
    this.timer = 0;
    if (status.state === "open") this.everOpen = true;
    this.render();
    if (status.state === "waiting") this.timer = setInterval(() => this.render(), 1000);
  }

  render() {
    const { state, retryAt } = this.status;
    let text = "";
    if (state === "waiting") {
      const seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
      text = `Disconnected. Reconnecting in ${seconds} s…`;
    } else if (state === "offline") {
      text = "You are offline. Parley reconnects when the network is back.";
    } else if (state === "connecting" && this.everOpen) {
      text = "Reconnecting…";
    }
    this.banner.hidden = !text;
    this.banner.classList.toggle("offline", state === "offline");
    if (this.text.textContent !== text) this.text.textContent = text;
    this.button.hidden = state !== "waiting";
  }

  stop() {
    clearInterval(this.timer);
    this.banner.hidden = true;
    this.everOpen = false;
  }
}
