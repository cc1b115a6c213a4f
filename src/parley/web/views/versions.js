// The edit history of a message (`versions`), opened from its "(edited)" mark: every text it
// had, oldest first, each with who wrote it and when; older pages on demand.

import { el } from "../dom.js";
import { fullTime } from "../format.js";
import { renderText } from "../richtext.js";
import { ListDialog } from "./listdialog.js";
import { nameNodes } from "./names.js";

export class VersionsView {
  constructor(store, client) {
    this.store = store;
    this.client = client;
    this.view = new ListDialog("versions-dialog", "Edit history");
    this.view.more.textContent = "Older versions";
    this.view.more.addEventListener("click", () => this.load(this.first));
    this.token = null;
  }

  async show(room, item) {
    this.room = room;
    this.item = item;
    this.view.open("Edit history");
    await this.load(null);
  }

  async load(before) {
    const token = (this.token = {});
    let reply;
    try {
      reply = await this.client.versions(this.room, this.item, before);
    } catch (error) {
      if (token === this.token) this.view.say(`Could not load the edit history: ${error.message}`);
      return;
    }
    if (token !== this.token) return;
    const versions = reply.versions || [];
    this.first = versions.length ? versions[0].seq : null;
    const total = versions.length + (before ? this.view.list.children.length : 0);
    const nodes = versions.map((version, index) =>
      el(
        "li",
        { class: "version", "data-seq": version.seq },
        el(
          "p",
          { class: "version-head" },
          nameNodes(this.store, version.user),
          " ",
          el("time", { datetime: new Date(version.ts).toISOString(), text: fullTime(version.ts) }),
          !reply.more && !before && index === 0 ? el("span", { class: "tag", text: "original" }) : null,
          index === versions.length - 1 && !before ? el("span", { class: "tag", text: "current" }) : null,
        ),
        el("div", { class: "text" }, renderText(version.text)),
      ),
    );
    this.view.list.prepend(...nodes);
    this.view.more.hidden = !reply.more;
    this.view.say(total === 1 ? "1 version" : `${total} versions`);
  }
}
