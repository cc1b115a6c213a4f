// The threads I follow (`threads`), most recently replied-to first, each with its unread
// count; choosing one opens its room and its thread panel. The header's Threads button shows
// the total unread, refreshed (at most every second) when a reply arrives or a thread's read
// marker moves.

import { el } from "../dom.js";
import { time } from "../format.js";
import { ListDialog } from "./listdialog.js";
import { nameNodes } from "./names.js";

const REFRESH_DELAY = 1000;

export class ThreadListView {
  /** @param {{openThread: (room, item) => void}} ui */
  constructor(store, client, ui, button) {
    this.store = store;
    this.client = client;
    this.ui = ui;
    this.button = button;
    this.badge = button.querySelector(".badge");
    this.view = new ListDialog("threads-dialog", "Threads");
    this.view.more.addEventListener("click", () => this.load(this.next));
    this.timer = 0;
    button.addEventListener("click", () => this.show());
    store.on("thread", ({ kind, item }) => {
      if (kind === "reply" && !store.isMe(item.user)) this.refreshSoon();
    });
    store.on("thread-unread", () => this.refreshSoon());
    store.on("follow", () => this.refreshSoon());
  }

  show() {
    this.view.open("Threads you follow");
    this.load(null);
  }

  /** The unread total, after a connection's welcome and when threads change. */
  refreshSoon() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.refresh();
    }, REFRESH_DELAY);
  }

  async refresh() {
    if (!this.client.connected) return;
    try {
      const reply = await this.client.threads();
      this.renderBadge(reply.threads || []);
      if (this.view.dialog.open && !this.next) this.render(reply, false);
    } catch {
      // Offline or refused: the badge keeps its last value until the next refresh.
    }
  }

  renderBadge(threads) {
    const unread = threads.reduce((sum, thread) => sum + (thread.unread || 0), 0);
    this.badge.textContent = unread > 99 ? "99+" : String(unread);
    this.badge.hidden = unread === 0;
    this.button.setAttribute("aria-label", unread ? `Threads, ${unread} unread` : "Threads");
  }

  async load(after) {
    const token = (this.token = {});
    let reply;
    try {
      reply = await this.client.threads(after);
    } catch (error) {
      if (token === this.token) this.view.say(`Could not load your threads: ${error.message}`);
      return;
    }
    if (token !== this.token) return;
    if (!after) this.renderBadge(reply.threads || []);
    this.render(reply, Boolean(after));
  }

  render(reply, append) {
    const threads = reply.threads || [];
    this.next = reply.more ? reply.next : null;
    this.view.more.hidden = !reply.more;
    const rows = threads.map((thread) => this.row(thread));
    if (append) this.view.list.append(...rows);
    else this.view.list.replaceChildren(...rows);
    this.view.say(this.view.list.children.length ? "" : "You follow no threads yet. Reply in one, or follow it from its panel.");
  }

  row(thread) {
    const root = thread.root;
    const room = this.store.room(thread.room);
    const where = room && room.kind === "direct" ? this.store.title(room) : `#${thread.room}`;
    const label = root.replies === 1 ? "1 reply" : `${root.replies || 0} replies`;
    const open = () => {
      this.view.close();
      if (room) this.ui.openThread(room, this.store.keepReply(room, root));
    };
    return el(
      "li",
      { class: `followed-thread${thread.unread ? " unread" : ""}` },
      el(
        "button",
        { type: "button", class: "thread-row", onclick: open, "aria-label": `${where}, ${this.store.nameWithHandle(root.user)}: ${label}${thread.unread ? `, ${thread.unread} unread` : ""}` },
        el("span", { class: "thread-where", text: where }),
        el("span", { class: "thread-who" }, nameNodes(this.store, root.user)),
        // Plain text: the row is a button, and a button holds no links.
        el("span", { class: "thread-text", text: root.deleted ? "(deleted)" : (root.text || "").slice(0, 200) }),
        el(
          "span",
          { class: "thread-meta" },
          `${label}${root.last_reply_ts ? ` · last ${time(root.last_reply_ts)}` : ""}`,
          thread.unread ? el("span", { class: "badge", text: String(thread.unread) }) : null,
        ),
      ),
    );
  }
}
