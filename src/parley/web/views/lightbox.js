// An image of a message, full size, over the page. A native <dialog> opened with showModal():
// the browser keeps the keyboard inside it (the rest of the page is inert) and Escape closes
// it; focus then goes back to the thumbnail that opened it, so a keyboard user is where they
// were. ← and → step through the images of the open room, in the timeline's order.

import { el } from "../dom.js";
import { fileSize } from "../format.js";
import { fileUrl } from "../uploads.js";

export class Lightbox {
  constructor() {
    this.image = el("img", { class: "lightbox-image", alt: "" });
    this.caption = el("p", { class: "lightbox-caption", id: "lightbox-caption" });
    this.download = el("a", { class: "button ghost lightbox-download", text: "Download" });
    this.position = el("span", { class: "lightbox-position", "aria-live": "polite" });
    this.previous = el("button", { type: "button", class: "ghost lightbox-step", "aria-label": "Previous image", onclick: () => this.step(-1) }, "‹");
    this.next = el("button", { type: "button", class: "ghost lightbox-step", "aria-label": "Next image", onclick: () => this.step(1) }, "›");
    this.close = el("button", { type: "button", class: "ghost", onclick: () => this.dialog.close() }, "Close");
    this.dialog = el(
      "dialog",
      { id: "lightbox", class: "lightbox", "aria-label": "Image", "aria-describedby": "lightbox-caption" },
      el("div", { class: "lightbox-body" }, el("div", { class: "lightbox-frame" }, this.image), this.caption),
      el("div", { class: "lightbox-actions" }, this.previous, this.position, this.next, el("span", { class: "lightbox-gap" }), this.download, this.close),
    );
    // A click on the backdrop (outside the body) closes, as people expect of a lightbox.
    this.dialog.addEventListener("click", (event) => event.target === this.dialog && this.dialog.close());
    this.dialog.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        this.step(event.key === "ArrowLeft" ? -1 : 1);
      }
    });
    this.dialog.addEventListener("close", () => {
      this.image.removeAttribute("src"); // stop a large download that is not looked at
      const opener = this.opener;
      this.opener = null;
      if (opener && opener.isConnected) opener.focus();
    });
    document.body.append(this.dialog);
    this.images = [];
    this.index = 0;
    this.opener = null;
  }

  get isOpen() {
    return this.dialog.open;
  }

  /**
   * Show `images[index]` (FileInfo of images, uploads.js); `opener` gets the focus back when
   * the lightbox closes.
   */
  open(images, index, opener) {
    this.images = images;
    this.opener = opener || document.activeElement;
    this.show(index);
    if (!this.dialog.open) this.dialog.showModal();
    this.close.focus();
  }

  show(index) {
    const file = this.images[index];
    if (!file) return;
    this.index = index;
    // The dimensions are known before the image is: the box does not jump when it arrives.
    if (file.width && file.height) {
      this.image.width = file.width;
      this.image.height = file.height;
    } else {
      this.image.removeAttribute("width");
      this.image.removeAttribute("height");
    }
    this.image.src = fileUrl(file);
    this.image.alt = file.name;
    this.caption.textContent = `${file.name} · ${fileSize(file.size)}`;
    this.download.href = fileUrl(file);
    this.download.setAttribute("download", file.name);
    const many = this.images.length > 1;
    this.previous.hidden = !many;
    this.next.hidden = !many;
    this.position.textContent = many ? `${index + 1} of ${this.images.length}` : "";
  }

  step(by) {
    if (this.images.length < 2) return;
    this.show((this.index + by + this.images.length) % this.images.length);
  }
}

let shared = null;

/** The page's one lightbox (its dialog has a fixed id): the timeline and the thread panel
 *  open images in the same one. */
export function pageLightbox() {
  shared ??= new Lightbox();
  return shared;
}
