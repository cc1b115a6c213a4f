// The admin page's rooms: search, archive / unarchive, change the owner (a member of the
// room), delete (asked twice).

import * as admin from "../admin-api.js";
import { el } from "../dom.js";
import { action, confirming, replaceRow, row } from "./admin-rows.js";
import { AdminSearch } from "./admin-search.js";

export class RoomsView extends AdminSearch {
  constructor(report) {
    const page = async (query, after) => (await admin.rooms(query, after)).rooms;
    super("room", page, "No room matches.", report);
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
