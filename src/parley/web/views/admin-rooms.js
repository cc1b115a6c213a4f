// The admin page's rooms: search, archive / unarchive, delete (asked twice).

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
      confirming("Delete", `Delete ${name}`, `Confirm deleting ${name} and its history`, () => this.remove(node, name)),
    ]);
    return node;
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
