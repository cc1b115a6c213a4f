// The admin page's users: search, disable / enable, make admin, reset the password, see the
// live sessions and end them. Every change goes through the admin API (recorded in the audit
// log there) and the row is redrawn from the server's answer.

import * as admin from "../admin-api.js";
import { el } from "../dom.js";
import { action, replaceRow, row, when } from "./admin-rows.js";
import { AdminSearch } from "./admin-search.js";

export class UsersView extends AdminSearch {
  /** @param report {{ok: (text: string) => void, fail: (error: Error) => void}} */
  constructor(report) {
    const page = async (query, after) => (await admin.users(query, after)).users;
    super("user", page, "No user matches.", report);
  }

  render(user) {
    const name = user.name;
    const node = row(name, [user.admin && "admin", user.disabled && "disabled"], [
      user.disabled
        ? action("Enable", `Enable ${name}`, () => this.change(node, admin.setDisabled(name, false), `${name} can sign in again.`))
        : action("Disable", `Disable ${name}`, () =>
            this.change(node, admin.setDisabled(name, true), `${name} is disabled and signed out everywhere.`)),
      user.admin
        ? action("Remove admin", `Remove admin right of ${name}`, () =>
            this.change(node, admin.setAdmin(name, false), `${name} is no longer an administrator.`))
        : action("Make admin", `Make ${name} an administrator`, () =>
            this.change(node, admin.setAdmin(name, true), `${name} is an administrator.`)),
      action("Reset password", `Reset the password of ${name}`, () => this.passwordForm(node, name)),
      action("Sessions", `Sessions of ${name}`, () => this.showSessions(node, name)),
    ]);
    return node;
  }

  async change(node, request, done) {
    try {
      const { user } = await request;
      replaceRow(node, this.render(user));
      this.report.ok(done);
    } catch (error) {
      this.report.fail(error);
    }
  }

  passwordForm(node, name) {
    const extra = node.querySelector(".admin-extra");
    const input = el("input", {
      type: "password",
      autocomplete: "new-password",
      maxlength: "256",
      "aria-label": `New password for ${name}`,
    });
    const form = el(
      "form",
      { class: "admin-inline" },
      input,
      el("button", { type: "submit", class: "primary small-text" }, "Set password"),
      action("Cancel", "Cancel the new password", () => extra.replaceChildren()),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await admin.resetPassword(name, input.value);
        extra.replaceChildren();
        this.report.ok(`The password of ${name} was changed; their sessions were ended.`);
        node.querySelector(`[data-label="Reset the password of ${CSS.escape(name)}"]`)?.focus();
      } catch (error) {
        this.report.fail(error);
        input.focus();
      }
    });
    extra.replaceChildren(form);
    input.focus();
  }

  async showSessions(node, name) {
    const extra = node.querySelector(".admin-extra");
    try {
      const { sessions } = await admin.sessions(name);
      const list = el("ul", { class: "admin-sessions", "aria-label": `Sessions of ${name}` });
      if (!sessions.length) list.append(el("li", { text: "No live sessions." }));
      for (const session of sessions) {
        const item = el(
          "li",
          {},
          el("span", { text: `Signed in ${when(session.created)}, until ${when(session.expires)} ` }),
          action("End", `End session ${session.id} of ${name}`, async () => {
            try {
              await admin.endSession(name, session.id);
              this.report.ok(`A session of ${name} was ended.`);
              await this.showSessions(node, name);
            } catch (error) {
              this.report.fail(error);
            }
          }),
        );
        list.append(item);
      }
      extra.replaceChildren(list);
      (list.querySelector("button") || node.querySelector(".admin-actions button:last-child"))?.focus();
    } catch (error) {
      this.report.fail(error);
    }
  }
}
