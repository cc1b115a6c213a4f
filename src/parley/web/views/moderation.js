// Room roles and moderation in the browser: a member menu (remove, ban, mute, make moderator)
// on each member of the member panel, and the room-settings dialog (who may post, invite,
// set the topic, pin; the owners and moderators). Native <dialog>s opened with showModal():
// the browser traps focus in them and closes them on Escape, so both work from the keyboard.
// The server decides every act (parley/permissions.py); this view only offers what the
// user's role allows, and shows the server's refusal if it disagrees.

import { el, setFieldError } from "../dom.js";
import { sentence } from "./dialogs.js";

const $ = (id) => document.getElementById(id);
const SETTINGS = ["post", "invite", "topic", "pin"];

function until(ts) {
  return new Date(ts).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

/** A moderation event as a line of the timeline, or null for another kind. */
export function moderationText(item, who, store) {
  const by = item.by && store.isMe(item.by) ? "You" : item.by ? store.nameWithHandle(item.by) : "Someone";
  const whom = store.isMe(item.user) ? "you" : store.nameWithHandle(item.user);
  switch (item.kind) {
    case "role":
      return item.text === "member" ? `${by} made ${whom} a member again` : `${by} made ${whom} ${item.text === "owner" ? "an owner" : "a moderator"}`;
    case "kick":
      return `${by} removed ${whom} from the room`;
    case "ban":
      return `${by} banned ${whom}${item.until ? ` until ${until(item.until)}` : ""}`;
    case "unban":
      return `${by} lifted the ban of ${whom}`;
    case "mute":
      return `${by} muted ${whom} until ${until(item.until)}`;
    case "unmute":
      return `${by} unmuted ${whom}`;
    case "settings": {
      const s = item.settings || {};
      const only = SETTINGS.filter((name) => s[name] === "moderators");
      return `${by} changed the room's settings: ${only.length ? `only moderators may ${only.join(", ")}` : "every member may post, invite, set the topic and pin"}`;
    }
    default:
      return null;
  }
}

export class ModerationView {
  /**
   * @param {import("../store.js").Store} store
   * @param {import("../client.js").ChatClient} client
   * @param {{toast: Function}} ui
   */
  constructor(store, client, ui) {
    this.store = store;
    this.client = client;
    this.ui = ui;
    this.room = null;
    this.target = null;
    this.settingsButton = $("room-settings");
    this.settingsButton.addEventListener("click", () => this.openSettings());
    $("settings-form").addEventListener("submit", (event) => this.saveSettings(event));
    $("member-promote").addEventListener("click", () => this.act("role", { role: "moderator" }, "is now a moderator"));
    $("member-demote").addEventListener("click", () => this.act("role", { role: "member" }, "is now a plain member"));
    $("member-kick").addEventListener("click", () => this.act("kick", {}, "was removed"));
    $("member-mute").addEventListener("click", () => {
      this.act("mute", { until: Date.now() + Number($("member-mute-for").value) }, "is muted");
    });
    $("member-ban").addEventListener("click", () => {
      const span = Number($("member-ban-for").value);
      this.act("ban", span ? { until: Date.now() + span } : {}, "is banned");
    });
    // The member panel is redrawn by RoomView (presence, joins): add the menu buttons each time.
    new MutationObserver(() => this.decorate()).observe($("member-list"), { childList: true });
    store.on("moderation", ({ room }) => {
      if (room !== this.room) return;
      this.decorate();
      if ($("settings-dialog").open) this.renderSettings();
    });
  }

  /** The room on screen changed: learn the user's role there (it decides the menus). */
  async show(room) {
    this.room = room;
    const moderated = Boolean(room && room.kind !== "direct");
    this.settingsButton.hidden = !moderated;
    if (moderated && this.client.connected) await this.refresh(room);
    else this.decorate();
  }

  async refresh(room) {
    try {
      this.store.moderated(room, await this.client.roomSettings(room));
    } catch {
      // Offline, or the room went away: the menus stay as they were; the next show() asks again.
    }
    if (room === this.room) this.decorate();
  }

  decorate() {
    const room = this.room;
    const allowed = Boolean(room && room.kind !== "direct" && this.store.canModerate(room));
    for (const item of $("member-list").querySelectorAll("li.member")) {
      const name = item.querySelector(".member-name")?.textContent || "";
      let button = item.querySelector(".member-menu");
      if (!allowed || this.store.isMe(name)) {
        button?.remove();
        continue;
      }
      if (button) continue;
      button = el(
        "button",
        { type: "button", class: "icon-button member-menu", "aria-label": `Moderate ${name}`, title: "Moderate", onclick: () => this.openMember(name) },
        "⋯",
      );
      item.append(button);
    }
  }

  // -- the member menu -------------------------------------------------------------------------

  openMember(name) {
    this.target = name;
    const owner = this.store.isOwner(this.room);
    $("member-title").textContent = `Moderate ${name} in #${this.room.name}`;
    $("member-promote").hidden = !owner;
    $("member-demote").hidden = !owner;
    setFieldError(null, $("member-error"), "");
    $("member-dialog").showModal();
    $("member-kick").focus();
  }

  async act(type, fields, done) {
    const room = this.room;
    const user = this.target;
    if (!room || !user) return;
    try {
      await this.client.moderate(room, type, { user, ...fields });
      $("member-dialog").close();
      this.ui.toast(`${user} ${done}.`, "info");
    } catch (error) {
      setFieldError(null, $("member-error"), sentence(error.message));
    }
  }

  // -- the settings dialog -------------------------------------------------------------------

  async openSettings() {
    const room = this.room;
    if (!room) return;
    setFieldError(null, $("settings-error"), "");
    // Shown at once with what is known; the server's answer redraws it (the "moderation" event).
    this.renderSettings();
    const dialog = $("settings-dialog");
    dialog.showModal();
    // The first control that can take the keyboard: read-only settings cannot.
    (this.store.isOwner(room) ? $("settings-post") : dialog.querySelector("[data-close]")).focus();
    await this.refresh(room);
  }

  renderSettings() {
    const room = this.room;
    const owner = this.store.isOwner(room);
    for (const name of SETTINGS) {
      const select = $(`settings-${name}`);
      select.value = room.settings?.[name] || "members";
      select.disabled = !owner;
    }
    $("settings-save").hidden = !owner;
    const role = this.store.admin ? "a server admin" : `${room.role === "owner" ? "an" : "a"} ${room.role || "member"}`;
    $("settings-role").textContent = `You are ${role} here.${owner ? "" : " Only owners change these."}`;
    const holders = room.roles || [];
    $("settings-roles").replaceChildren(
      ...(holders.length
        ? holders.map((h) => el("li", {}, el("span", { class: "member-name", text: h.user }), el("span", { class: "role-badge", text: h.role })))
        : [el("li", { class: "field-hint", text: "None: the server's admins moderate this room." })]),
    );
  }

  async saveSettings(event) {
    event.preventDefault();
    const room = this.room;
    if (!room) return;
    const changes = {};
    for (const name of SETTINGS) {
      const value = $(`settings-${name}`).value;
      if (value !== (room.settings?.[name] || "members")) changes[name] = value;
    }
    try {
      if (Object.keys(changes).length) await this.client.changeRoomSettings(room, changes);
      $("settings-dialog").close();
    } catch (error) {
      setFieldError(null, $("settings-error"), sentence(error.message));
    }
  }
}
