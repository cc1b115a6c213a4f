// The admin page's server section: the registration mode and whether members may invite
// (stored by the server, so every node follows), the live figures (/metrics' connections,
// messages per second and store commit time, read every 2 s), and invitation links.

import * as admin from "../admin-api.js";
import { el } from "../dom.js";
import { action, replaceRow, row, when } from "./admin-rows.js";

const $ = (id) => document.getElementById(id);
const EVERY = 2000; // ms between two readings of the figures

export class SettingsView {
  constructor(report) {
    this.report = report;
    $("settings-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  async load() {
    try {
      this.show(await admin.settings());
    } catch (error) {
      this.report.fail(error);
    }
  }

  show(settings) {
    $("registration-mode").value = settings.registration;
    $("member-invites").checked = settings.member_invites;
  }

  async save() {
    try {
      const saved = await admin.saveSettings({
        registration: $("registration-mode").value,
        member_invites: $("member-invites").checked,
      });
      this.show(saved);
      this.report.ok(`Saved: registration is ${saved.registration}.`);
    } catch (error) {
      this.report.fail(error);
    }
  }
}

/** Rates from two readings of the counters: what happened between them. */
export class FiguresView {
  constructor(report) {
    this.report = report;
    this.previous = null;
    this.timer = 0;
  }

  start() {
    const tick = async () => {
      try {
        this.show(await admin.stats());
      } catch (error) {
        if (error.status === 401 || error.status === 403) return this.report.fail(error);
      }
      this.timer = setTimeout(tick, EVERY);
    };
    tick();
  }

  show(now) {
    $("figure-connections").textContent = String(now.connections);
    const before = this.previous;
    this.previous = now;
    if (!before) return;
    const seconds = Math.max(0.001, (now.at - before.at) / 1000);
    const messages = (now.messages_in - before.messages_in) / seconds;
    $("figure-messages").textContent = messages.toFixed(1);
    const commits = now.commits - before.commits;
    $("figure-latency").textContent = commits
      ? `${(((now.commit_seconds - before.commit_seconds) / commits) * 1000).toFixed(2)} ms`
      : "no commits";
  }
}

export class InvitesView {
  constructor(report) {
    this.report = report;
    this.list = $("invite-list");
    $("invite-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
    $("invite-copy").addEventListener("click", async () => {
      const link = $("invite-link");
      link.select();
      try {
        await navigator.clipboard.writeText(link.value);
        this.report.ok("The link is copied.");
      } catch {
        this.report.ok("Select the link and copy it (the browser did not allow copying).");
      }
    });
  }

  async load() {
    try {
      const { invites } = await admin.invites();
      this.list.replaceChildren(...invites.map((invite) => this.render(invite)));
      if (!invites.length) this.list.append(el("li", { class: "admin-empty", text: "No invitations yet." }));
    } catch (error) {
      this.report.fail(error);
    }
  }

  render(invite) {
    const kind = invite.kind === "account" ? "new account" : "existing users";
    const rooms = invite.rooms.length ? `rooms: ${invite.rooms.join(", ")}` : "";
    const state = invite.state === "used" ? `used by ${invite.used_by}` : invite.state;
    const node = row(`#${invite.id} ${kind}`, [state, rooms, `until ${when(invite.expires)}`, `by ${invite.created_by || "operator"}`],
      invite.state === "valid"
        ? [action("Revoke", `Revoke invitation ${invite.id}`, async () => {
            try {
              const { invite: revoked } = await admin.revokeInvite(invite.id);
              replaceRow(node, this.render(revoked));
              this.report.ok(`Invitation #${invite.id} was revoked: its link no longer works.`);
            } catch (error) {
              this.report.fail(error);
            }
          })]
        : []);
    return node;
  }

  async create() {
    const rooms = $("invite-rooms").value.split(",").map((name) => name.trim()).filter(Boolean);
    try {
      const made = await admin.createInvite($("invite-kind").value, rooms, Number($("invite-expiry").value));
      $("invite-made").hidden = false;
      $("invite-link").value = made.link;
      $("invite-link").focus();
      $("invite-link").select();
      this.report.ok(`Invitation #${made.invite.id} created: send the link to the person you invite.`);
      await this.load();
    } catch (error) {
      this.report.fail(error);
    }
  }
}
