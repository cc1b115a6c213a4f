// Building DOM nodes without ever parsing HTML.
//
// Every piece of text that comes from a user (messages, names, topics) reaches the page as a
// Text node or through textContent, so `<img onerror=...>` is shown as the characters it is.
// No API that parses a string as HTML or as code is used anywhere in this client (a test in
// tests/browser greps for them), and the Content-Security-Policy forbids inline scripts and
// eval as a second line of defence.

/**
 * el("p", {class: "x", text: "hello"}, child, "more text") → <p class="x">hello…</p>
 * Strings among the children become Text nodes. Keys starting with "on" add listeners, so an
 * attribute can never carry an inline event handler.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child); // a string becomes a Text node
  }
}

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  lock: ["M7 11V8a5 5 0 0110 0v3", "M5.5 11h13v9h-13z"],
  hash: ["M9 4L7 20", "M17 4l-2 16", "M4 9h16", "M3.5 15h16"],
  edit: ["M4 20h4L19 9l-4-4L4 16z", "M13.5 6.5l4 4"],
  trash: ["M5 7h14", "M10 7V4.5h4V7", "M6.5 7l1 13h9l1-13"],
  retry: ["M4.5 12a7.5 7.5 0 1 0 2.2-5.3", "M4.5 4.5v4h4"],
  clip: ["M20 11.5l-8.2 8.2a5 5 0 01-7.1-7.1l8.6-8.6a3.4 3.4 0 014.8 4.8l-8.6 8.6a1.7 1.7 0 01-2.4-2.4l7.9-7.9"],
  file: ["M6 3h8l5 5v13H6z", "M14 3v5h5", "M9 13h7M9 17h7"],
};

/** A small line icon (decorative: hidden from screen readers). */
export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", `icon icon-${name}`);
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

// http(s) URLs only; what counts as the end of a URL follows what people type around links.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = ".,;:!?*'\"";

function count(text, char) {
  let n = 0;
  for (const c of text) if (c === char) n += 1;
  return n;
}

/** Drop trailing punctuation ("see https://x.org/a." → the link ends before the dot), but
 *  keep a closing bracket that belongs to the URL (https://en.wikipedia.org/wiki/Foo_(bar)). */
function trimUrl(url) {
  for (;;) {
    const last = url.at(-1);
    if (TRAILING.includes(last)) url = url.slice(0, -1);
    else if (last === ")" && count(url, "(") < count(url, ")")) url = url.slice(0, -1);
    else if (last === "]" && count(url, "[") < count(url, "]")) url = url.slice(0, -1);
    else return url;
  }
}

/**
 * A message's text as nodes: plain text, with http(s) links made clickable. Nothing else is
 * interpreted: no HTML, no Markdown. Links open in a new tab without giving it a handle on
 * this page (noopener) or telling the other site where the click came from (noreferrer).
 */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  let done = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const raw = trimUrl(match[0]);
    let url;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) continue;
    if (match.index > done) fragment.append(text.slice(done, match.index));
    fragment.append(el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer", text: raw }));
    done = match.index + raw.length;
  }
  if (done < text.length) fragment.append(text.slice(done));
  return fragment;
}

/**
 * Mark the mentions in a fragment of text (from `linkify`): each `@name` the server listed in
 * the event's `mentions` becomes a `<span class="mention">`, and `mention me` when it is the
 * reader (or `@room`). Only the names the server resolved are marked: it decided, not a regex.
 */
export function markMentions(fragment, names, isMe) {
  if (!names || !names.length) return fragment;
  const escaped = names.map((name) => name.replace(/^@/, "").replace(/[.*+?^${}()|[\]\\-]/g, "\\$&"));
  const pattern = new RegExp(`@(${escaped.join("|")})(?![A-Za-z0-9_])`, "gi");
  for (const node of [...fragment.childNodes]) {
    if (node.nodeType !== Node.TEXT_NODE) continue;
    const text = node.textContent;
    const parts = document.createDocumentFragment();
    let done = 0;
    for (const match of text.matchAll(pattern)) {
      if (match.index > done) parts.append(text.slice(done, match.index));
      const me = match[1].toLowerCase() === "room" || isMe(match[1]);
      parts.append(el("span", { class: me ? "mention me" : "mention", text: match[0] }));
      done = match.index + match[0].length;
    }
    if (!done) continue;
    if (done < text.length) parts.append(text.slice(done));
    node.replaceWith(parts);
  }
  return fragment;
}

/** Show an element's error text (or hide it when `message` is empty), for form fields. */
export function setFieldError(input, errorNode, message) {
  errorNode.textContent = message || "";
  errorNode.hidden = !message;
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}
