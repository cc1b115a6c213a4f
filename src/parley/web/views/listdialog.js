// A modal list dialog built in script (pinned messages, edit history, followed threads): a
// title, a status line, a list and a Close button. `showModal` traps the focus and Escape
// closes it, like the dialogs written in index.html.

import { el } from "../dom.js";

export class ListDialog {
  constructor(id, title) {
    this.heading = el("h2", { id: `${id}-title`, text: title });
    this.status = el("p", { class: "list-status", role: "status", "aria-live": "polite" });
    this.list = el("ol", { class: "dialog-list", "aria-labelledby": `${id}-title` });
    this.more = el("button", { type: "button", class: "ghost wide", hidden: true }, "More");
    this.dialog = el(
      "dialog",
      { id, class: "list-dialog", "aria-labelledby": `${id}-title` },
      el(
        "div",
        { class: "dialog-body" },
        this.heading,
        this.status,
        this.list,
        this.more,
        el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "ghost", onclick: () => this.dialog.close() }, "Close")),
      ),
    );
    document.body.append(this.dialog);
  }

  /** Open with `title`, an empty list and "Loading…". */
  open(title) {
    this.heading.textContent = title;
    this.list.replaceChildren();
    this.more.hidden = true;
    this.say("Loading…");
    if (!this.dialog.open) this.dialog.showModal();
  }

  say(text) {
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}
