// A message's formatted text as DOM nodes: markdown.js's tree, drawn with dom.js's `el`.
//
// Every string of the message reaches the page as a Text node; the tree can only name the
// elements listed here, and a link's href is one markdown.js's `safeUrl` accepted (http,
// https, mailto). Nothing is ever parsed as HTML.
//
// Node shapes (markdown.js):
//   blocks  {t: "p", c}  {t: "pre", lang, text}  {t: "quote", c}  {t: "list", ordered, start, items: [[block]]}
//   inline  "text"  {t: "strong"|"em"|"del", c}  {t: "code", text}  {t: "link", href, c}
//           {t: "url", href, text}  {t: "mention", name, text}  {t: "room", name, text}

import { el } from "./dom.js";
import { parse } from "./markdown.js";

/**
 * `text` formatted, as a fragment of block elements.
 * `options.mentions`: the names the server resolved (the event's `mentions`);
 * `options.isMe(name)`: whether a mentioned name is the reader's (highlighted);
 * `options.isRoom(name)`: whether `#name` is a room this client knows (only those are links).
 */
export function renderText(text, { mentions = [], isMe = () => false, isRoom = () => false } = {}) {
  const tree = parse(text, { mentions });
  const fragment = document.createDocumentFragment();
  const draw = { isMe, isRoom };
  for (const block of tree.c) {
    const node = drawBlock(block, draw);
    if (node) fragment.append(node);
  }
  return fragment;
}

function drawBlock(block, draw) {
  switch (block.t) {
    case "p":
      return el("p", {}, drawInline(block.c, draw, false));
    case "pre":
      return el(
        "div",
        { class: "code-block" },
        block.lang ? el("span", { class: "code-lang", text: block.lang }) : null,
        el("pre", {}, el("code", { "data-lang": block.lang || null, text: block.text })),
      );
    case "quote":
      return el("blockquote", {}, block.c.map((child) => drawBlock(child, draw)));
    case "list":
      return el(
        block.ordered ? "ol" : "ul",
        { start: block.ordered && block.start !== 1 ? String(block.start) : null },
        block.items.map((item) => el("li", {}, item.map((child) => drawBlock(child, draw)))),
      );
    default:
      return null;
  }
}

/** "example.org", or the address of a mailto link: what a link's text alone may hide. */
function shownTarget(href) {
  const url = new URL(href);
  if (url.protocol !== "mailto:") return url.host;
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return url.pathname; // a malformed %-escape: shown as written
  }
}

function linkNode(href, children, className) {
  return el("a", { href, class: className, title: href, target: "_blank", rel: "noopener noreferrer" }, children);
}

/** `inLink`: inside a link's text, where another link is drawn as its text. */
function drawInline(nodes, draw, inLink) {
  return nodes.map((node) => {
    if (typeof node === "string") return node;
    switch (node.t) {
      case "strong":
      case "em":
      case "del":
        return el(node.t === "del" ? "s" : node.t, {}, drawInline(node.c, draw, inLink));
      case "code":
        return el("code", { text: node.text });
      case "link": {
        if (inLink) return drawInline(node.c, draw, true);
        const inner = drawInline(node.c, draw, true);
        const target = shownTarget(node.href);
        const plain = node.c.map((child) => (typeof child === "string" ? child : child.t === "url" ? child.text : "\0")).join("");
        if (plain === target || plain === node.href) return linkNode(node.href, inner, "link");
        // The destination is always visible: [your bank](https://evil.example) shows "evil.example".
        return [linkNode(node.href, inner, "link"), el("span", { class: "link-target", text: ` (${target})` })];
      }
      case "url":
        return inLink ? node.text : linkNode(node.href, node.text, "link");
      case "mention":
        return el("span", { class: node.name.toLowerCase() === "room" || draw.isMe(node.name) ? "mention me" : "mention", text: node.text });
      case "room":
        return !inLink && draw.isRoom(node.name) ? el("a", { class: "room-link", href: `#${node.name}`, text: node.text }) : node.text;
      default:
        return null;
    }
  });
}
