// The room list: rooms I am in (public and private), then direct messages, each with its
// unread count; direct messages show whether the other person is online. Rooms are links
// (#name), so they work with the keyboard, middle-click and the back button.

import { el, icon } from "../dom.js";
import { avatar } from "./avatar.js";
import { nameNodes } from "./names.js";

export class SidebarView {
  constructor(store) {
    this.store = store;
    this.rooms = document.getElementById("room-list");
    this.dms = document.getElementById("dm-list");
    this.meName = document.getElementById("me-name");
    this.meAvatar = document.getElementById("me-avatar");
    this.meStatus = document.getElementById("me-status");
    this.total = document.getElementById("total-unread");
    store.on("rooms", () => this.render());
    store.on("presence", () => this.render());
    store.on("profile", () => this.render());
  }

  render() {
    const store = this.store;
    const member = store.memberRooms();
    const byTitle = (a, b) => store.title(a).localeCompare(store.title(b), undefined, { sensitivity: "base" });
    const rooms = member.filter((room) => room.kind !== "direct").sort(byTitle);
    const dms = member.filter((room) => room.kind === "direct").sort(byTitle);
    this.rooms.replaceChildren(...rooms.map((room) => this.entry(room)));
    if (!rooms.length) this.rooms.append(el("li", { class: "empty", text: "No rooms yet" }));
    this.dms.replaceChildren(...dms.map((room) => this.entry(room)));
    if (!dms.length) this.dms.append(el("li", { class: "empty", text: "No conversations yet" }));

    this.meName.textContent = store.me ? store.displayName(store.me) : "";
    const mine = avatar(store.me || "?", store.me ? store.profile(store.me) : null, "small");
    mine.id = "me-avatar";
    this.meAvatar.replaceWith(mine);
    this.meAvatar = mine;

    // On a phone the list is a drawer: its button says there is something to see.
    const total = store.totalUnread();
    const fresh = member.some((room) => room.invitedBy && room.name !== store.active);
    this.total.hidden = total === 0 && !fresh;
    this.total.textContent = total > 99 ? "99+" : total > 0 ? String(total) : "new";
    const active = store.active ? store.room(store.active) : undefined;
    const where = active ? (active.kind === "direct" ? store.title(active) : `#${active.name}`) : "";
    // The title counts mentions apart: "(@2) (5) #dev · Parley".
    const mentions = store.totalMentions();
    const counts = `${mentions ? `(@${mentions}) ` : ""}${total ? `(${total}) ` : ""}`;
    document.title = `${counts}${where ? `${where} · ` : ""}Parley`;
    this.onTitle?.(mentions, total);
  }

  entry(room) {
    const store = this.store;
    const direct = room.kind === "direct";
    const peer = direct ? store.peer(room) : "";
    // A direct room is named by the other person: display name and @handle, as everywhere.
    const title = direct ? store.nameWithHandle(peer) : store.title(room);
    const active = room.name === store.active;
    let mark;
    let state = "";
    if (direct) {
      const online = store.isOnline(peer);
      state = online ? ", online" : ", offline";
      // Their picture (or initial), with the presence dot on its corner.
      mark = el(
        "span",
        { class: "dm-avatar" },
        avatar(peer, store.profile(peer), "tiny"),
        el("span", { class: online ? "presence online" : "presence", "aria-hidden": "true" }),
      );
    } else {
      mark = icon(room.kind === "private" ? "lock" : "hash");
      if (room.kind === "private") state = ", private";
    }
    // The badge: the unread count; for a room someone just added us to, "new" until a message
    // comes (what was said before we came is not unread) or we open it.
    // Mentions of me get a badge of their own ("@2"), drawn apart from the plain count.
    let badge = "";
    let news = "";
    const mentions = !active && room.mentions > 0 ? (room.mentions > 99 ? "99+" : String(room.mentions)) : "";
    if (mentions) news = `, ${room.mentions} mentioning you`;
    if (!active && room.unread > 0) {
      badge = room.unread > 99 ? "99+" : String(room.unread);
      news += `, ${room.unread} unread`;
    } else if (!active && room.invitedBy) {
      badge = "new";
      news = ", new";
    }
    const unread = badge !== "";
    const label = `${title}${state}${news}`;
    const link = el(
      "a",
      {
        href: `#${room.name}`,
        class: `room-link${active ? " active" : ""}${unread ? " unread" : ""}`,
        "aria-current": active ? "page" : null,
        "aria-label": label,
        "data-room": room.name,
      },
      mark,
      el("span", { class: "room-link-name" }, direct ? nameNodes(store, peer, "dm-name") : title),
      mentions ? el("span", { class: "badge mention-badge", "aria-hidden": "true", text: `@${mentions}` }) : null,
      badge ? el("span", { class: "badge", "aria-hidden": "true", text: badge }) : null,
    );
    return el("li", {}, link);
  }

  /** The connection state, under my name at the bottom of the list. */
  status(text, online) {
    this.meStatus.textContent = text;
    this.meStatus.classList.toggle("online", online);
  }
}
