// "Your profile": a display name and a picture (docs/protocol.md, section 12, `profile`).
//
// The picture is uploaded as soon as it is chosen (as an avatar upload: the server keeps the
// centre of the image, square), with a progress bar, and previewed from /avatars/{id}, which
// serves it to its uploader before it is set: what the dialog shows is what the others will
// see. Nothing changes for
// anyone until Save; then the `profile` notice that comes back redraws every view, here and in
// the pages of everyone who shares a room with us.

import { el, setFieldError } from "../dom.js";
import { upload } from "../uploads.js";
import { avatar } from "./avatar.js";

/** docs/protocol.md, section 12: "display name: 64 characters, one line". */
const DISPLAY_NAME_MAX = 64;

export class ProfileDialog {
  /** @param {{toast: Function}} ui */
  constructor(store, client, ui) {
    this.store = store;
    this.client = client;
    this.ui = ui;
    this.preview = el("span", { class: "profile-preview" });
    this.picker = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp", hidden: true, tabindex: "-1" });
    this.choose = el("button", { type: "button", class: "ghost", id: "profile-choose", onclick: () => this.picker.click() }, "Choose a picture…");
    this.clear = el("button", { type: "button", class: "ghost", id: "profile-remove", onclick: () => this.removePicture() }, "Remove picture");
    this.bar = el("progress", { class: "profile-progress", "aria-label": "Uploading the picture" });
    this.pictureState = el("p", { class: "field-hint", id: "profile-picture-state", role: "status" });
    this.pictureError = el("p", { class: "field-error", id: "profile-picture-error", role: "alert" });
    this.name = el("input", { id: "profile-display-name", autocomplete: "name", maxlength: String(DISPLAY_NAME_MAX), "aria-describedby": "profile-name-hint profile-name-error" });
    this.nameHint = el("p", { class: "field-hint", id: "profile-name-hint" });
    this.nameError = el("p", { class: "field-error", id: "profile-name-error" });
    this.formError = el("p", { class: "form-error", role: "alert" });
    this.save = el("button", { type: "submit", class: "primary" }, "Save");
    this.form = el(
      "form",
      { class: "dialog-body", id: "profile-form", novalidate: true },
      el("h2", { id: "profile-title", text: "Your profile" }),
      el(
        "div",
        { class: "profile-picture" },
        this.preview,
        el("div", { class: "profile-picture-actions" }, this.choose, this.clear, this.bar, this.pictureState, this.pictureError, this.picker),
      ),
      el("div", { class: "field" }, el("label", { for: "profile-display-name", text: "Display name" }), this.name, this.nameHint, this.nameError),
      this.formError,
      el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "ghost", onclick: () => this.dialog.close() }, "Cancel"), this.save),
    );
    this.dialog = el("dialog", { id: "profile-dialog", "aria-labelledby": "profile-title" }, this.form);
    document.body.append(this.dialog);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.picker.addEventListener("change", () => {
      const [file] = this.picker.files;
      this.picker.value = "";
      if (file) this.uploadPicture(file);
    });
    this.dialog.addEventListener("close", () => this.running?.abort());
    this.running = null;
    this.avatar = ""; // the picture to save: an avatar upload's id, the current one, or ""
  }

  open() {
    const me = this.store.me;
    const profile = this.store.profile(me);
    this.avatar = profile.avatar;
    this.name.value = profile.display_name;
    this.nameHint.textContent = `Shown instead of your user name, ${me}. People still mention you as @${me}.`;
    for (const [input, node] of [[this.name, this.nameError], [null, this.pictureError], [null, this.formError]]) setFieldError(input, node, "");
    this.pictureState.textContent = "";
    this.bar.hidden = true;
    this.save.disabled = false;
    this.renderPreview();
    this.dialog.showModal();
    this.name.focus();
  }

  renderPreview() {
    this.preview.replaceChildren(avatar(this.store.me, { avatar: this.avatar }, "large"));
    this.preview.setAttribute("aria-label", this.avatar ? "Your picture" : "No picture: your initial is shown");
    this.preview.setAttribute("role", "img");
    this.clear.hidden = !this.avatar;
  }

  uploadPicture(file) {
    setFieldError(null, this.pictureError, "");
    this.running?.abort();
    this.bar.hidden = false;
    this.bar.max = Math.max(file.size, 1);
    this.bar.value = 0;
    this.pictureState.textContent = "Uploading the picture…";
    this.save.disabled = true;
    const running = upload(file, file.name || "avatar", { avatar: true, onProgress: (sent) => (this.bar.value = sent) });
    this.running = running;
    running.done.then(
      (info) => {
        if (this.running !== running) return;
        this.running = null;
        this.avatar = info.id;
        this.bar.hidden = true;
        this.save.disabled = false;
        this.pictureState.textContent = "Picture ready: Save to use it.";
        this.renderPreview();
      },
      (error) => {
        if (this.running !== running) return;
        this.running = null;
        this.bar.hidden = true;
        this.save.disabled = false;
        this.pictureState.textContent = "";
        if (error.code !== "aborted") setFieldError(null, this.pictureError, error.message);
      },
    );
  }

  removePicture() {
    this.avatar = "";
    this.pictureState.textContent = "The picture goes when you save.";
    this.renderPreview();
    this.choose.focus();
  }

  async submit() {
    const name = this.name.value.trim();
    if (name.length > DISPLAY_NAME_MAX) {
      setFieldError(this.name, this.nameError, `At most ${DISPLAY_NAME_MAX} characters.`);
      return;
    }
    setFieldError(this.name, this.nameError, "");
    setFieldError(null, this.formError, "");
    const old = this.store.profile(this.store.me);
    const fields = {};
    if (name !== old.display_name) fields.display_name = name;
    if (this.avatar !== old.avatar) fields.avatar = this.avatar;
    if (!Object.keys(fields).length) {
      this.dialog.close();
      return;
    }
    this.save.disabled = true;
    try {
      await this.client.setProfile(fields);
      this.dialog.close();
      this.ui.toast("Your profile was saved.", "info");
    } catch (error) {
      const target = error.code === "bad_request" && "display_name" in fields ? [this.name, this.nameError] : [null, this.formError];
      setFieldError(target[0], target[1], error.message);
    } finally {
      this.save.disabled = false;
    }
  }
}
