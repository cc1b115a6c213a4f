// The admin page's server section: the registration mode and whether members may invite
// (stored by the server, so every node follows), the live figures of every server process
// (/metrics' connections, messages per second and store commit time, read every 2 s: totals
// and a row per process), and invitation links.

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

/** The deployment's figures: totals and one row per server process, as the server sums
 *  them from every process's published figures (each carries its own rates). */
export class FiguresView {
  constructor(report) {
    this.report = report;
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

  show(figures) {
    $("figure-connections").textContent = String(figures.connections);
    $("figure-messages").textContent = figures.messages_per_second.toFixed(1);
    $("figure-latency").textContent = commitTime(figures.commit_ms);
    const shown = figures.nodes.length;
    $("figure-nodes").textContent =
      figures.nodes_total > shown ? `${figures.nodes_total} (${shown} shown)` : String(shown);
    $("figure-partial").hidden = !figures.partial;
    $("node-rows").replaceChildren(...figures.nodes.map((node) => this.row(node, figures.node)));
  }

  row(node, answering) {
    const name = node.node === answering ? `${node.address} (this one)` : node.address;
    return el("tr", {},
      el("th", { scope: "row", title: `node ${node.node}, process ${node.pid}`, text: name }),
      el("td", { "data-label": "Connections", text: String(node.connections) }),
      el("td", { "data-label": "Messages/s", text: node.messages_per_second.toFixed(1) }),
      el("td", { "data-label": "Commit time", text: commitTime(node.commit_ms) }),
      el("td", { "data-label": "Running since", text: when(node.started) }));
  }
}

const commitTime = (ms) => (ms === null ? "no commits" : `${ms.toFixed(2)} ms`);

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
