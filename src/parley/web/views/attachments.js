// Files for the next message: chosen with the composer's attach button, dropped on the room, or
// pasted (a screenshot from the clipboard). Each one is uploaded at once (uploads.js), shown as
// a chip with a progress bar and a Cancel button while it goes, then with its thumbnail (or
// its type) and a Remove button; the next send takes every finished one with it.
//
// A room keeps its own files, as it keeps its draft (room.attachments): switching rooms does
// not move them, and an upload goes on while another room is shown. A failed upload stays as a
// chip that says why (too large, over the quota, not accepted, the network), until removed.

import { el, icon } from "../dom.js";
import { fileSize } from "../format.js";
import { isImage, thumbUrl, upload } from "../uploads.js";

/** Files in one message (docs/protocol.md, section 12: more is `bad_request`). */
export const MAX_FILES = 10;

/** Uploads of this page at once. The server takes 4 per user and refuses more (429): one is
 *  left for another tab or the profile's picture; the others wait their turn here. */
const PARALLEL = 3;

/** A pasted screenshot has no name of its own (Chromium calls every one "image.png"). */
function nameOf(file, pasted) {
  if (file.name && !(pasted && /^image\.\w+$/.test(file.name))) return file.name;
  const ext = (file.type.split("/")[1] || "bin").replace(/[^a-z0-9]/gi, "");
  const when = new Date().toISOString().slice(0, 19).replace("T", " ").replace(/:/g, ".");
  return `Pasted image ${when}.${ext}`;
}

let nextKey = 1;

export class AttachmentsView {
  constructor(store) {
    this.store = store;
    this.room = null;
    this.form = document.getElementById("composer");
    this.input = document.getElementById("composer-text");
    this.roomView = document.getElementById("room-view");
    this.picker = el("input", { type: "file", multiple: true, hidden: true, id: "attach-input", tabindex: "-1" });
    this.button = el(
      "button",
      { type: "button", id: "attach", class: "attach icon-button", "aria-label": "Attach files", title: "Attach files (or paste, or drop them here)", "aria-controls": "attachments" },
      icon("clip"),
    );
    this.tray = el("ul", { id: "attachments", class: "attachments", "aria-label": "Files to send" });
    this.status = el("p", { id: "attach-status", class: "attach-status", role: "status" });
    this.dropHint = el("div", { class: "drop-hint", "aria-hidden": "true" }, el("span", { text: "Drop files to attach them" }));
    this.dropHint.hidden = true;
    this.tray.hidden = true;
    const box = this.form.querySelector(".composer-box");
    // After the text, before Send: Shift+Tab from the text still reaches the messages above.
    box.insertBefore(this.button, document.getElementById("send"));
    this.form.insertBefore(this.tray, box);
    this.form.append(this.picker, this.status);
    this.roomView.append(this.dropHint);
    this.nodes = new Map(); // attachment -> its chip, for progress updates in place
    this.waiting = []; // [room, item, file] not started yet, oldest first
    this.running = 0;

    this.button.addEventListener("click", () => this.picker.click());
    this.picker.addEventListener("change", () => {
      this.add([...this.picker.files]);
      this.picker.value = "";
    });
    this.input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])];
      if (!files.length) return; // text: the textarea takes it
      event.preventDefault();
      this.add(files, true);
    });
    this.setupDrop();
  }

  setupDrop() {
    const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
    let depth = 0; // dragenter/dragleave fire for every child crossed
    this.roomView.addEventListener("dragenter", (event) => {
      if (!carriesFiles(event) || !this.usable()) return;
      depth += 1;
      this.dropHint.hidden = false;
    });
    this.roomView.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) this.dropHint.hidden = true;
    });
    this.roomView.addEventListener("dragover", (event) => {
      if (!carriesFiles(event) || !this.usable()) return;
      event.preventDefault(); // allows the drop
      event.dataTransfer.dropEffect = "copy";
    });
    this.roomView.addEventListener("drop", (event) => {
      depth = 0;
      this.dropHint.hidden = true;
      if (!carriesFiles(event) || !this.usable()) return;
      event.preventDefault();
      this.add([...event.dataTransfer.files]);
      this.input.focus();
    });
    // A file dropped anywhere else must not make the browser leave the chat to open it.
    for (const type of ["dragover", "drop"]) {
      document.addEventListener(type, (event) => carriesFiles(event) && event.preventDefault());
    }
  }

  usable() {
    return Boolean(this.room) && !this.room.archived;
  }

  show(room) {
    this.room = room || null;
    this.button.disabled = !this.usable();
    this.say("");
    this.render();
  }

  /** A line under the composer; `shown` false: for screen readers only, when the chip of the
   *  file already shows it. */
  say(text, shown = true) {
    this.status.textContent = text;
    this.status.classList.toggle("visually-hidden", !shown);
  }

  /** Start uploading `files` (File objects) for the open room. */
  add(files, pasted = false) {
    const room = this.room;
    if (!files.length || !this.usable()) return;
    const free = MAX_FILES - room.attachments.length;
    if (files.length > free) {
      this.say(`At most ${MAX_FILES} files go with one message: ${files.length - Math.max(free, 0)} not added.`);
      files = files.slice(0, Math.max(free, 0));
    } else this.say("");
    for (const file of files) {
      const item = { key: nextKey++, name: nameOf(file, pasted), size: file.size, sent: 0, state: "uploading", started: false, info: null, error: "", abort: null };
      room.attachments.push(item);
      const entry = [room, item, file];
      this.waiting.push(entry);
      // Cancelled before its turn: it leaves the queue.
      item.abort = () => {
        this.waiting = this.waiting.filter((other) => other !== entry);
        this.drop(room, item);
      };
    }
    this.render();
    this.pump();
  }

  /** Start the next waiting uploads, up to PARALLEL at once. */
  pump() {
    while (this.running < PARALLEL && this.waiting.length) {
      const [room, item, file] = this.waiting.shift();
      this.start(room, item, file);
    }
  }

  start(room, item, file) {
    this.running += 1;
    item.started = true;
    const running = upload(file, item.name, {
      onProgress: (sent) => {
        item.sent = sent;
        this.progress(item);
      },
    });
    item.abort = running.abort;
    this.progress(item);
    running.done
      .then(
        (info) => {
          item.state = "ready";
          item.info = info;
          this.changed(room);
        },
        (error) => {
          if (error.code === "aborted") {
            this.drop(room, item);
            return;
          }
          item.state = "failed";
          item.error = error.message;
          if (room === this.room) this.say(`${item.name}: ${error.message}`, false);
          this.changed(room);
        },
      )
      .finally(() => {
        item.abort = null;
        this.running -= 1;
        this.pump();
      });
  }

  changed(room) {
    if (room === this.room) this.render();
  }

  drop(room, item) {
    room.attachments = room.attachments.filter((other) => other !== item);
    this.changed(room);
  }

  /** Cancel an upload under way, or take back a finished or failed one. */
  remove(item) {
    const room = this.room;
    const hadFocus = this.tray.contains(document.activeElement);
    if (item.abort) item.abort(); // the request is aborted; its failure removes the chip
    else this.drop(room, item);
    if (hadFocus) this.input.focus();
  }

  /**
   * The files to send with the message being sent, taken out of the tray; or null while one is
   * still uploading (the tray says to wait). Failed ones are left behind, with their reason.
   */
  take(room) {
    if (room.attachments.some((item) => item.state === "uploading")) {
      this.say("A file is still uploading: send when it is done, or cancel it.");
      return null;
    }
    const ready = room.attachments.filter((item) => item.state === "ready");
    room.attachments = room.attachments.filter((item) => item.state !== "ready");
    this.say("");
    this.changed(room);
    return ready.map((item) => item.info);
  }

  render() {
    const items = this.room ? this.room.attachments : [];
    this.nodes.clear();
    this.tray.hidden = !items.length;
    this.tray.replaceChildren(
      ...items.map((item) => {
        const node = this.chip(item);
        this.nodes.set(item, node);
        return node;
      }),
    );
  }

  chip(item) {
    const uploading = item.state === "uploading";
    const preview =
      item.state === "ready" && isImage(item.info)
        ? el("img", { class: "attachment-preview", src: thumbUrl(item.info), alt: "", width: item.info.thumb_width, height: item.info.thumb_height })
        : el("span", { class: "attachment-preview file-glyph", "aria-hidden": "true" }, icon("file"));
    const meta = el("span", { class: "attachment-meta" });
    const bar = uploading ? el("progress", { max: String(Math.max(item.size, 1)), value: String(item.sent), "aria-label": `Uploading ${item.name}` }) : null;
    const label = uploading ? `Cancel the upload of ${item.name}` : `Remove ${item.name}`;
    const node = el(
      "li",
      { class: `attachment is-${item.state}`, "data-name": item.name },
      preview,
      el("span", { class: "attachment-text" }, el("span", { class: "attachment-name", text: item.name }), meta, bar),
      el("button", { type: "button", class: "icon-button attachment-remove", "aria-label": label, title: uploading ? "Cancel" : "Remove", onclick: () => this.remove(item) }, "×"),
    );
    this.fillMeta(meta, item);
    return node;
  }

  fillMeta(meta, item) {
    if (item.state === "uploading" && !item.started) {
      meta.textContent = `Waiting to upload… ${fileSize(item.size)}`;
    } else if (item.state === "uploading") {
      const percent = item.size ? Math.floor((100 * item.sent) / item.size) : 0;
      meta.textContent = `Uploading… ${percent}% of ${fileSize(item.size)}`;
    } else if (item.state === "failed") {
      meta.textContent = item.error;
      meta.classList.add("attachment-error");
    } else meta.textContent = fileSize(item.info.size);
  }

  /** Progress of one upload: its chip is updated in place (its Cancel button keeps the focus). */
  progress(item) {
    const node = this.nodes.get(item);
    if (!node) return;
    const bar = node.querySelector("progress");
    if (bar) bar.value = item.sent;
    this.fillMeta(node.querySelector(".attachment-meta"), item);
  }
}
