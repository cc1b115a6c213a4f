// A list of the admin page found by name a page at a time (users, rooms): the search form,
// the "More" button, and the cursor. The admin API answers at most PAGE rows sorted by name
// and takes the last name shown as `after` for the next page, so a short page is the last one.
// A view extends this with its endpoint and how a row is drawn (with its actions).

import { el } from "../dom.js";

const $ = (id) => document.getElementById(id);
export const PAGE = 100; // the server's page size (chat/admin.py MAX_PAGE)

export class AdminSearch {
  /**
   * @param prefix {string} the page's ids: `${prefix}-search` (form), `-query`, `-list`, `-more`
   * @param fetch {(query: string, after: string | null) => Promise<object[]>} one page of rows
   * @param empty {string} what the list says when nothing matches
   * @param report {{ok: (text: string) => void, fail: (error: Error) => void}}
   */
  constructor(prefix, fetch, empty, report) {
    this.fetch = fetch;
    this.empty = empty;
    this.report = report;
    this.list = $(`${prefix}-list`);
    this.more = $(`${prefix}-more`);
    this.query = "";
    this.last = null;
    $(`${prefix}-search`).addEventListener("submit", (event) => {
      event.preventDefault();
      this.search($(`${prefix}-query`).value.trim());
    });
    this.more.addEventListener("click", () => this.load(true));
  }

  search(query) {
    this.query = query;
    return this.load(false);
  }

  async load(more) {
    try {
      const rows = await this.fetch(this.query, more ? this.last : null);
      if (!more) this.list.replaceChildren();
      for (const found of rows) this.list.append(this.render(found));
      if (!more && !rows.length) this.list.append(el("li", { class: "admin-empty", text: this.empty }));
      this.last = rows.length ? rows.at(-1).name : this.last;
      this.more.hidden = rows.length < PAGE;
    } catch (error) {
      this.report.fail(error);
    }
  }

  /** The list item of one row: the view's own. */
  render(found) {
    throw new Error(`${this.constructor.name} draws no row for ${found.name}`);
  }
}
