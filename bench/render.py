"""Formatted text in Chromium: how long the browser takes to draw messages (web/richtext.js).

Serves ``src/parley/web`` from 127.0.0.1 on a free port (the modules as the chat page loads
them, with its two style sheets), opens a page in Debian's Chromium through Playwright and,
inside the page, measures with ``performance.now()``:

* ``page100``: a history page of 100 formatted messages, each parsed, drawn into a list item
  and laid out (``offsetHeight`` forces the layout), ``--runs`` times after a warm-up;
* ``flood``: 10,000 formatted messages drawn as 100 history pages of 100 into one long list,
  each page laid out before the next (as scrolling up loads pages): every page's time, so the
  slowest page says whether scrolling stays smooth (a frame is 16.7 ms);
* ``plain100``: the same page drawn as plain text (no formatting), for comparison;
* ``parse100``: the parsing alone (markdown.js), for the same page of 100.

The messages are a fixed mix of what people write (bold, italics, code, links, mentions,
quotes, lists, fenced code): see ``MESSAGES``. Nothing is sent anywhere but 127.0.0.1.

Run from the repository root: ``.venv/bin/python bench/render.py``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

WEB = Path(__file__).resolve().parent.parent / "src" / "parley" / "web"
CHROMIUM = "/usr/bin/chromium"

MESSAGES = [
    "**Heads up**: the deploy starts at *14:00*, see https://example.org/runbook",
    "@alice can you check `make test` on the `release-2.1` branch?",
    "> the build is red again\n\nyes, a ~~flaky~~ broken test: `tests/test_x.py::test_y`",
    "Steps:\n1. pull\n2. run `./dev test`\n3. **report** back in #lobby",
    "```python\ndef hello(name):\n    return f'hi {name}'\n```\nlooks fine to me",
    "- coffee\n- *tea*\n  - green\n  - black\n- [menu](https://example.org/menu)",
    "plain words, nothing formatted at all, like most messages people send in a busy room",
    "thanks @bob! _really_ helpful :) <b>not html</b> \\*not italic\\*",
]

_MEASURE = """
async ([messages, runs]) => {
  const { renderText } = await import("/richtext.js");
  const { parse } = await import("/markdown.js");
  const options = {
    mentions: ["alice", "bob"], isMe: (n) => n === "alice", isRoom: (n) => n === "lobby",
  };
  const list = document.createElement("ol");
  list.className = "messages";
  document.body.append(list);
  const page = (count, offset) => {
    const items = [];
    for (let i = 0; i < count; i += 1) {
      const li = document.createElement("li");
      li.className = "msg";
      const text = document.createElement("div");
      text.className = "text";
      text.append(renderText(messages[(i + offset) % messages.length], options));
      li.append(text);
      items.push(li);
    }
    return items;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const q = (xs, f) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))];

  // A page of 100, drawn and laid out from an empty list each time.
  page(100, 0);
  const page100 = [];
  for (let r = 0; r < runs; r += 1) {
    list.replaceChildren();
    const start = performance.now();
    list.append(...page(100, r));
    void list.offsetHeight;
    page100.push(performance.now() - start);
  }
  // The same page as plain text nodes (the client before formatting): what formatting adds.
  const plain100 = [];
  for (let r = 0; r < runs; r += 1) {
    list.replaceChildren();
    const start = performance.now();
    const items = [];
    for (let i = 0; i < 100; i += 1) {
      const li = document.createElement("li");
      li.className = "msg";
      const text = document.createElement("p");
      text.className = "text";
      text.append(messages[(i + r) % messages.length]);
      li.append(text);
      items.push(li);
    }
    list.append(...items);
    void list.offsetHeight;
    plain100.push(performance.now() - start);
  }
  const parse100 = [];
  for (let r = 0; r < runs; r += 1) {
    const start = performance.now();
    for (let i = 0; i < 100; i += 1) parse(messages[(i + r) % messages.length], options);
    parse100.push(performance.now() - start);
  }
  // 10,000 messages: 100 pages prepended one after the other, as history loads.
  list.replaceChildren();
  const pages = [];
  const begin = performance.now();
  for (let p = 0; p < 100; p += 1) {
    const start = performance.now();
    list.prepend(...page(100, p * 100));
    void list.offsetHeight;
    pages.push(performance.now() - start);
  }
  const total = performance.now() - begin;
  return {
    page100_ms_p50: median(page100), page100_ms_max: Math.max(...page100),
    plain100_ms_p50: median(plain100), parse100_ms_p50: median(parse100),
    flood_total_ms: total, flood_page_ms_p50: median(pages), flood_page_ms_p95: q(pages, 0.95),
    flood_page_ms_max: Math.max(...pages), flood_messages: list.children.length,
  };
}
"""


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="page100 and parse100 repetitions")
    args = parser.parse_args()
    server, port = serve(WEB)
    try:
        with sync_playwright() as playwright:
            executable = CHROMIUM if os.path.exists(CHROMIUM) else None
            browser = playwright.chromium.launch(executable_path=executable)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/no-such-page")  # the origin, no script
            page.add_style_tag(url="/app.css")
            page.add_style_tag(url="/richtext.css")
            result = page.evaluate(_MEASURE, [MESSAGES, args.runs])
            browser.close()
    finally:
        server.shutdown()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(json.dumps({key: round(value, 2) for key, value in result.items()}, indent=1))


if __name__ == "__main__":
    main()
