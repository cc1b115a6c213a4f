// A room's pinned messages (`pins`), most recently pinned first: each can be shown in the
// timeline or unpinned. Kept up to date while open (the store's "pins" notice).

import { el } from "../dom.js";
import { fullTime } from "../format.js";
import { renderText } from "../richtext.js";
import { ListDialog } from "./listdialog.js";
import { nameNodes } from "./names.js";

export class PinsView {
  /** @param {{reveal: (room, seq) => void, toast: Function}} ui */
  constructor(store, client, ui) {
    this.store = store;
    this.client = client;
    this.ui = ui;
    this.room = null;
    this.view = new ListDialog("pins-dialog", "Pinned messages");
    store.on("pins", ({ room }) => {
      if (this.view.dialog.open && room === this.room) this.load();
    });
  }

  show(room) {
    this.room = room;
    this.view.open(`Pinned in ${room.kind === "direct" ? this.store.title(room) : `#${room.name}`}`);
    this.load();
  }

  async load() {
    const room = this.room;
    const token = (this.token = {});
    let reply;
    try {
      reply = await this.client.pins(room);
    } catch (error) {
      if (token === this.token) this.view.say(`Could not load the pinned messages: ${error.message}`);
      return;
    }
    if (token !== this.token) return;
    const events = reply.events || [];
    this.view.say(events.length ? "" : "Nothing is pinned in this room yet. Pin a message from its menu.");
    this.view.list.replaceChildren(
      ...events.map((event) =>
        el(
          "li",
          { class: "pin", "data-mid": event.mid },
          el("p", { class: "version-head" }, nameNodes(this.store, event.user), " ", el("time", { datetime: new Date(event.ts).toISOString(), text: fullTime(event.ts) })),
          el("div", { class: "text" }, renderText(event.text || "", { mentions: event.mentions || [], isMe: (name) => this.store.isMe(name) })),
          el(
            "div",
            { class: "pin-actions" },
            el("button", { type: "button", class: "ghost small-text", onclick: () => (this.view.close(), this.ui.reveal(room, event)) }, "Show in the room"),
            el("button", { type: "button", class: "ghost small-text", onclick: () => this.unpin(room, event) }, "Unpin"),
          ),
        ),
      ),
    );
    if (reply.more) this.view.say(`The ${events.length} most recently pinned.`);
  }

  async unpin(room, event) {
    try {
      await this.client.pin(room, event, true);
    } catch (error) {
      this.ui.toast(`Could not unpin the message: ${error.message}`);
    }
  }
}
