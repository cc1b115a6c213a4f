// Search: a dialog with a search box (Ctrl+K, or "/" when not typing), results grouped by
// room with the matches marked, and a click (or Enter) on a result to see it in context: the
// events around it (`history` with `around`), the result marked and focused, and a button
// that opens the room. The server sends highlights as [start, end) ranges in code points; they
// become <mark> elements around Text nodes: nothing from the server is parsed as HTML.
// Authors are named as in the timeline (display name and @handle); a result's files are chips
// with their names (a result is a button: it cannot hold the timeline's download links).

import { el } from "../dom.js";
import { shortTime, dayLabel } from "../format.js";
import { userKey } from "../store.js";
import { fileChips } from "./files.js";
import { nameNodes } from "./names.js";

const $ = (id) => document.getElementById(id);
/** Typing pauses this long (ms) before the query is sent: one request per pause, not per key. */
const DEBOUNCE = 250;
const PAGE = 20;
const CONTEXT = 11;

/** `text` as nodes, each range of `highlight` ([start, end) in code points) inside a <mark>. */
export function marked(text, highlight) {
  const chars = Array.from(text);
  const nodes = [];
  let at = 0;
  for (const [start, end] of highlight || []) {
    if (start < at || end <= start) continue; // malformed: shown plain rather than wrong
    if (start > at) nodes.push(chars.slice(at, start).join(""));
    nodes.push(el("mark", { text: chars.slice(start, end).join("") }));
    at = end;
  }
  if (at < chars.length) nodes.push(chars.slice(at).join(""));
  return nodes;
}


export class SearchView {
  /** @param {{open: Function}} nav  open(roomName) shows a room */
  constructor(store, client, nav) {
    this.store = store;
    this.client = client;
    this.nav = nav;
    this.dialog = $("search-dialog");
    this.input = $("search-input");
    this.publicToo = $("search-public");
    this.status = $("search-status");
    this.results = $("search-results");
    this.more = $("search-more");
    this.context = $("search-context");
    this.contextList = $("search-context-list");
    this.contextTitle = $("search-context-title");
    this.generation = 0; // a newer query makes the answers to older ones stale
    this.timer = null;
    this.found = [];
    this.cursor = null;
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(), DEBOUNCE);
    });
    this.publicToo.addEventListener("change", () => this.run());
    this.more.addEventListener("click", () => this.run({ more: true }));
    $("search-back").addEventListener("click", () => this.showResults());
    $("open-search").addEventListener("click", () => this.open());
    this.dialog.addEventListener("close", () => clearTimeout(this.timer));
  }

  open() {
    if (!this.dialog.open) this.dialog.showModal();
    this.showResults();
    this.input.focus();
    this.input.select();
  }

  showResults() {
    this.context.hidden = true;
    $("search-main").hidden = false;
    const hit = this.results.querySelector(`[data-mid="${this.lastOpened}"]`);
    (hit || this.input).focus();
  }

  async run({ more = false } = {}) {
    clearTimeout(this.timer);
    const query = this.input.value;
    const generation = ++this.generation;
    if (!query.trim()) {
      this.found = [];
      this.cursor = null;
      this.render();
      this.say("");
      return;
    }
    this.say("Searching…");
    this.results.setAttribute("aria-busy", "true");
    const fields = { query, limit: PAGE, public: this.publicToo.checked };
    if (more && this.cursor) fields.before = this.cursor;
    let reply;
    try {
      reply = await this.client.conn.request("search", fields);
    } catch (error) {
      if (generation !== this.generation) return;
      this.results.removeAttribute("aria-busy");
      this.say(error.code === "bad_request" ? error.message.replace(/^search: /, "") : `Could not search: ${error.message}`, true);
      if (!more) {
        this.found = [];
        this.render();
      }
      return;
    }
    if (generation !== this.generation) return;
    this.results.removeAttribute("aria-busy");
    this.found = more ? [...this.found, ...reply.results] : reply.results;
    this.cursor = reply.more ? reply.before : null;
    this.render();
    const count = this.found.length;
    let text = count ? `${count}${reply.more ? "+" : ""} result${count === 1 ? "" : "s"}` : `No results for “${query.trim()}”.`;
    if (reply.pending) text += ` The newest ${reply.pending} messages are not searchable yet.`;
    this.say(text);
  }

  say(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
  }

  /** The results, grouped by room (rooms in the order of their newest result). */
  render() {
    const groups = new Map();
    for (const result of this.found) {
      if (!groups.has(result.room)) groups.set(result.room, []);
      groups.get(result.room).push(result);
    }
    const sections = [];
    let index = 0;
    for (const [room, results] of groups) {
      const headingId = `search-group-${index++}`;
      sections.push(
        el(
          "section",
          { class: "search-group", "aria-labelledby": headingId },
          el("h3", { id: headingId, text: this.roomLabel(room) }),
          el("ul", { class: "search-hits" }, results.map((result) => el("li", {}, this.hit(result)))),
        ),
      );
    }
    this.results.replaceChildren(...sections);
    this.more.hidden = !this.cursor;
  }

  /** "#dev", or for a direct room the other person: "Alice Liddell (@alice)". */
  roomLabel(name) {
    if (!name.startsWith("dm:")) return `#${name}`;
    const room = this.store.room(name);
    const me = this.store.me || "";
    const other = room ? this.store.peer(room) : name.split(":").slice(1).find((user) => user !== userKey(me)) || me;
    return this.store.nameWithHandle(other);
  }

  hit(result) {
    return el(
      "button",
      {
        type: "button",
        class: "search-hit",
        "data-mid": result.mid,
        onclick: () => this.jump(result),
      },
      el(
        "span",
        { class: "search-meta" },
        nameNodes(this.store, result.user, "search-user"),
        el("time", { datetime: new Date(result.ts).toISOString(), text: `${dayLabel(result.ts)} ${shortTime(result.ts)}` }),
        result.edited ? el("span", { class: "search-edited", text: "(edited)" }) : null,
      ),
      el("span", { class: "search-text" }, marked(result.text, result.highlight)),
      fileChips(result.files),
    );
  }

  /** The result in its context: the events around it, it marked and focused. */
  async jump(result) {
    this.lastOpened = result.mid;
    $("search-main").hidden = true;
    this.context.hidden = false;
    this.contextTitle.textContent = `In ${this.roomLabel(result.room)}`;
    this.contextList.replaceChildren(el("li", { class: "search-loading", text: "Loading the conversation…" }));
    // A public room one is not in (found with "Public rooms … too") is joined to be opened.
    const open = $("search-open-room");
    const member = this.store.room(result.room)?.member;
    open.textContent = member ? "Open the room" : `Join ${this.roomLabel(result.room)}`;
    open.onclick = async () => {
      let name = result.room;
      if (!member) {
        try {
          name = (await this.client.join(result.room)).name;
        } catch (error) {
          this.say(`Could not join: ${error.message}`, true);
          return;
        }
      }
      this.dialog.close();
      this.nav.open(name);
    };
    let reply;
    try {
      reply = await this.client.conn.request("history", { room: result.room, around: result.seq, limit: CONTEXT });
    } catch (error) {
      this.contextList.replaceChildren(el("li", { class: "search-loading error", text: `Could not load it: ${error.message}` }));
      return;
    }
    if (this.context.hidden || this.lastOpened !== result.mid) return;
    const items = reply.events
      .filter((event) => event.kind === "message" && !event.deleted)
      .map((event) => {
        const target = event.seq === result.seq;
        return el(
          "li",
          {
            class: target ? "context-item target" : "context-item",
            tabindex: target ? "-1" : null,
            "aria-current": target ? "true" : null,
          },
          el(
            "span",
            { class: "search-meta" },
            nameNodes(this.store, event.user, "search-user"),
            el("time", { datetime: new Date(event.ts).toISOString(), text: shortTime(event.ts) }),
          ),
          el("span", { class: "search-text" }, target ? marked(result.text, result.highlight) : event.text || ""),
          fileChips(event.files),
        );
      });
    this.contextList.replaceChildren(...items);
    const target = this.contextList.querySelector(".target");
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.focus();
    }
  }
}
