// A list of the admin page found by name a page at a time (users, rooms): the search form,
// the "More" button, and the cursor. The admin API answers at most PAGE rows sorted by name
// and takes the last name shown as `after` for the next page, so a short page is the last one.
// A view extends this with its endpoint and how a row is drawn (with its actions).
//
// Only the newest search's answers are drawn: a search started while an earlier one (or its
// "More") is on its way makes the earlier answer stale, so quick typing never mixes lists.
// "More" is disabled while its page is on its way (twice quickly would fetch the same page
// twice). When "More" hides after the last page while it had the keyboard focus, the focus
// moves to the first row it brought (or the list), never falling back to the page's body.

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
    this.searches = 0; // the newest search's number: older answers are stale
    this.list.tabIndex = -1; // where the focus goes when "More" leaves with nothing to show
    $(`${prefix}-search`).addEventListener("submit", (event) => {
      event.preventDefault();
      this.search($(`${prefix}-query`).value.trim());
    });
    this.more.addEventListener("click", () => this.load(true));
  }

  search(query) {
    this.query = query;
    this.searches += 1;
    return this.load(false);
  }

  async load(more) {
    const search = this.searches;
    const focused = more && document.activeElement === this.more;
    if (more) this.more.disabled = true;
    try {
      const rows = await this.fetch(this.query, more ? this.last : null);
      if (search !== this.searches) return; // a newer search's answer is (or will be) drawn
      if (!more) this.list.replaceChildren();
      const drawn = rows.map((found) => this.render(found));
      this.list.append(...drawn);
      if (!more && !rows.length) this.list.append(el("li", { class: "admin-empty", text: this.empty }));
      this.last = rows.length ? rows.at(-1).name : this.last;
      this.more.hidden = rows.length < PAGE;
      if (focused && this.more.hidden) {
        const first = drawn[0]?.querySelector("button, a[href], input, select");
        (first || this.list).focus();
      }
    } catch (error) {
      if (search === this.searches) this.report.fail(error);
    } finally {
      if (more) this.more.disabled = false;
    }
  }

  /** The list item of one row: the view's own. */
  render(found) {
    throw new Error(`${this.constructor.name} draws no row for ${found.name}`);
  }
}
