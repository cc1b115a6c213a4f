// The admin page's rooms: search, archive / unarchive, change the owner (a member of the
// room), delete (asked twice).

import * as admin from "../admin-api.js";
import { el } from "../dom.js";
import { action, confirming, replaceRow, row } from "./admin-rows.js";

const $ = (id) => document.getElementById(id);
const PAGE = 100;

export class RoomsView {
  constructor(report) {
    this.report = report;
    this.list = $("room-list");
    this.more = $("room-more");
    this.query = "";
    this.last = null;
    $("room-search").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search($("room-query").value.trim());
    });
    this.more.addEventListener("click", () => this.load(true));
  }

  search(query) {
    this.query = query;
    return this.load(false);
  }

  async load(more) {
    try {
      const { rooms } = await admin.rooms(this.query, more ? this.last : null);
      if (!more) this.list.replaceChildren();
      for (const room of rooms) this.list.append(this.render(room));
      if (!more && !rooms.length) this.list.append(el("li", { class: "admin-empty", text: "No room matches." }));
      this.last = rooms.length ? rooms.at(-1).name : this.last;
      this.more.hidden = rooms.length < PAGE;
    } catch (error) {
      this.report.fail(error);
    }
  }

  render(room) {
    const name = room.name;
    const members = `${room.members} member${room.members === 1 ? "" : "s"}`;
    const node = row(name, [room.kind, members, room.archived && "archived"], [
      room.archived
        ? action("Unarchive", `Unarchive ${name}`, () => this.archive(node, room, false))
        : action("Archive", `Archive ${name}`, () => this.archive(node, room, true)),
      action("Change owner", `Change the owner of ${name}`, () => this.ownerForm(node, name)),
      confirming("Delete", `Delete ${name}`, `Confirm deleting ${name} and its history`, () => this.remove(node, name)),
    ]);
    return node;
  }

  ownerForm(node, name) {
    const extra = node.querySelector(".admin-extra");
    const input = el("input", {
      maxlength: "32",
      autocomplete: "off",
      spellcheck: "false",
      autocapitalize: "none",
      "aria-label": `New owner of ${name}`,
      placeholder: "A member's name",
    });
    const form = el(
      "form",
      { class: "admin-inline" },
      input,
      el("button", { type: "submit", class: "primary small-text" }, "Make owner"),
      action("Cancel", "Cancel the change of owner", () => extra.replaceChildren()),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await admin.changeOwner(name, input.value.trim());
        extra.replaceChildren();
        this.report.ok(`${input.value.trim()} now owns ${name}.`);
        node.querySelector(`[data-label="Change the owner of ${CSS.escape(name)}"]`)?.focus();
      } catch (error) {
        this.report.fail(error);
        input.focus();
      }
    });
    extra.replaceChildren(form);
    input.focus();
  }

  async archive(node, room, archived) {
    try {
      await admin.setArchived(room.name, archived);
      replaceRow(node, this.render({ ...room, archived }));
      this.report.ok(archived ? `${room.name} is archived: read-only.` : `${room.name} is writable again.`);
    } catch (error) {
      this.report.fail(error);
    }
  }

  async remove(node, name) {
    try {
      await admin.deleteRoom(name);
      const next = node.nextElementSibling || node.previousElementSibling;
      node.remove();
      next?.querySelector("button")?.focus();
      this.report.ok(`${name} was deleted with its history.`);
    } catch (error) {
      this.report.fail(error);
    }
  }
}
