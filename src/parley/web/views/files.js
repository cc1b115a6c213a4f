// The files of a message in the timeline: an image as its thumbnail (a button that opens the
// lightbox), anything else as a card with its name, type and size that downloads it.
//
// A thumbnail's box has the thumbnail's size from the event (width and height attributes,
// scaled down with the column by CSS), so the timeline does not jump when the image arrives
// and the scroll position stays right. Everything is fetched from this origin, where the
// server checks on every request that the reader may see it (docs/protocol.md, section 12).

import { el, icon } from "../dom.js";
import { fileSize } from "../format.js";
import { fileUrl, isImage, thumbUrl } from "../uploads.js";

const TYPE_NAMES = {
  "application/pdf": "PDF document",
  "text/plain": "Text",
  "application/octet-stream": "File",
};

/** "PNG image", "PDF document", "Text", "File": what a file is, in words. */
export function typeName(type) {
  const essence = String(type).split(";")[0].trim().toLowerCase(); // "text/plain; charset=utf-8"
  if (TYPE_NAMES[essence]) return TYPE_NAMES[essence];
  const [major, minor] = essence.split("/");
  if (major === "image" && minor) return `${minor.replace(/^x-/, "").toUpperCase()} image`;
  return "File";
}

/** An image's thumbnail: a button (Enter, Space or a click opens it big). */
export function thumbnail(file, onOpen) {
  const button = el(
    "button",
    { type: "button", class: "file-thumb", "aria-label": `Open image ${file.name}, ${fileSize(file.size)}`, title: file.name },
    el("img", { src: thumbUrl(file), alt: file.name, width: file.thumb_width, height: file.thumb_height, decoding: "async" }),
  );
  button.addEventListener("click", () => onOpen(file, button));
  return button;
}

/** A file that is not shown inline: a link that downloads it (the server sends it as an
 *  attachment), with what it is and how big. */
export function fileCard(file) {
  return el(
    "a",
    { class: "file-card", href: fileUrl(file), download: file.name, "aria-label": `Download ${file.name}, ${typeName(file.type)}, ${fileSize(file.size)}` },
    icon("file"),
    el(
      "span",
      { class: "file-text" },
      el("span", { class: "file-name", text: file.name }),
      el("span", { class: "file-meta", text: `${typeName(file.type)} · ${fileSize(file.size)}` }),
    ),
    el("span", { class: "file-download", "aria-hidden": "true", text: "Download" }),
  );
}

/** A message's files as small chips, each its name with what it is and how big in its title
 *  (a search result: a button, which may hold no link); null when there are none. */
export function fileChips(files) {
  if (!Array.isArray(files) || !files.length) return null;
  return el(
    "span",
    { class: "file-chips" },
    files.map((file) =>
      el("span", { class: "file-chip", title: `${file.name}, ${typeName(file.type)}, ${fileSize(file.size)}` }, icon("file"), el("span", { class: "file-chip-name", text: file.name })),
    ),
  );
}

/** The files of a message, in the order sent; `onOpen(file, button)` opens an image. */
export function filesNode(files, onOpen) {
  return el(
    "div",
    { class: "msg-files" },
    files.map((file) => (isImage(file) ? thumbnail(file, onOpen) : fileCard(file))),
  );
}
