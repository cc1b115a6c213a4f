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
  smile: ["M12 3.5a8.5 8.5 0 1 0 0 17a8.5 8.5 0 1 0 0-17", "M8.5 14.5c1.8 2 5.2 2 7 0", "M9 9.5v.5", "M15 9.5v.5"],
  thread: ["M4 5h16v10H9l-5 4z", "M8 9h8", "M8 12h5"],
  pin: ["M9 4h6l-1 6 3 3H7l3-3z", "M12 13v7"],
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

/** Show an element's error text (or hide it when `message` is empty), for form fields. */
export function setFieldError(input, errorNode, message) {
  errorNode.textContent = message || "";
  errorNode.hidden = !message;
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}
