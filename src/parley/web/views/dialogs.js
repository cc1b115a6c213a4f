// The modal dialogs: browse and join public rooms, create a room, start a direct message,
// invite someone, set the topic, confirm a deletion. Native <dialog> elements opened with
// showModal(): the browser traps focus inside, closes on Escape and restores focus after.

import { el, setFieldError } from "../dom.js";

const ROOM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;

export function sentence(text) {
  const t = String(text || "").trim();
  if (!t) return "";
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

const $ = (id) => document.getElementById(id);

export class Dialogs {
  /**
   * @param {{open: Function, toast: Function}} nav  open(roomName) shows a room
   */
  constructor(store, client, nav) {
    this.store = store;
    this.client = client;
    this.nav = nav;
    for (const button of document.querySelectorAll("dialog [data-close]")) {
      button.addEventListener("click", () => button.closest("dialog").close());
    }
    this.setupBrowse();
    this.setupCreate();
    this.setupDm();
    this.setupInvite();
    this.setupTopic();
    this.setupEmail();
  }

  closeAll() {
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  }

  // -- browse --------------------------------------------------------------------------------

  setupBrowse() {
    this.browseDialog = $("browse-dialog");
    this.browseList = $("browse-list");
    this.browseFilter = $("browse-filter");
    this.browseError = $("browse-error");
    $("browse-form").addEventListener("submit", (event) => event.preventDefault());
    this.browseFilter.addEventListener("input", () => this.renderBrowse());
    $("browse-create").addEventListener("click", () => {
      this.browseDialog.close();
      this.create();
    });
  }

  async browse() {
    this.browseFilter.value = "";
    setFieldError(null, this.browseError, "");
    this.renderBrowse();
    this.browseDialog.showModal();
    this.browseFilter.focus();
    try {
      await this.client.listRooms();
      this.renderBrowse();
    } catch (error) {
      setFieldError(null, this.browseError, `Could not list the rooms: ${error.message}`);
    }
  }

  renderBrowse() {
    const filter = this.browseFilter.value.trim().toLowerCase();
    const rooms = [...this.store.rooms.values()]
      .filter((room) => room.kind === "public")
      .filter((room) => !filter || room.name.toLowerCase().includes(filter) || room.topic.toLowerCase().includes(filter))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
    if (!rooms.length) {
      this.browseList.replaceChildren(el("li", { class: "empty", text: filter ? "No room matches." : "No public rooms yet." }));
      return;
    }
    // The list is drawn again when the server's fresh list arrives: a row that had the focus
    // keeps it (a keyboard user who tabbed in quickly is not thrown out of the list).
    const focused = this.browseList.contains(document.activeElement) ? document.activeElement.dataset.room : null;
    this.browseList.replaceChildren(...rooms.map((room, index) => el("li", {}, this.browseRow(room, index))));
    if (focused) {
      const row = [...this.browseList.querySelectorAll(".browse-row")].find((node) => node.dataset.room === focused);
      row?.focus();
    }
  }

  /**
   * One room of the list: the whole row is one button (its name was not clickable before,
   * only a small Join button at the end). One Tab stop per room; the topic is its description.
   */
  browseRow(room, index) {
    const action = room.member ? "Open" : "Join";
    const topicId = `browse-topic-${index}`;
    return el(
      "button",
      {
        type: "button",
        class: "browse-row",
        "data-room": room.name,
        "aria-label": `${action} #${room.name}`,
        "aria-describedby": topicId,
        onclick: (event) => this.joinFromBrowse(room, event.currentTarget),
      },
      el(
        "span",
        { class: "browse-text" },
        el("span", { class: "browse-name", text: `#${room.name}` }),
        el("span", { class: "browse-topic", id: topicId, text: room.topic || "No topic" }),
      ),
      el("span", { class: `browse-action ${room.member ? "ghost" : "primary"} small-text`, "aria-hidden": "true", text: action }),
    );
  }

  async joinFromBrowse(room, button) {
    if (room.member) {
      this.browseDialog.close();
      this.nav.open(room.name);
      return;
    }
    button.disabled = true;
    try {
      const joined = await this.client.join(room.name);
      this.browseDialog.close();
      this.nav.open(joined.name);
    } catch (error) {
      button.disabled = false;
      setFieldError(null, this.browseError, `Could not join #${room.name}: ${error.message}`);
    }
  }

  // -- create a room ---------------------------------------------------------------------------

  setupCreate() {
    this.createDialog = $("create-dialog");
    this.createName = $("create-name");
    this.createNameError = $("create-name-error");
    this.createError = $("create-error");
    $("create-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitCreate(event.submitter || event.target.querySelector("[type=submit]"));
    });
  }

  create() {
    this.createName.value = "";
    $("create-topic").value = "";
    $("create-private").checked = false;
    setFieldError(this.createName, this.createNameError, "");
    setFieldError(null, this.createError, "");
    this.createDialog.showModal();
    this.createName.focus();
  }

  async submitCreate(button) {
    const name = this.createName.value.trim();
    setFieldError(null, this.createError, "");
    if (!ROOM_NAME.test(name)) {
      setFieldError(
        this.createName,
        this.createNameError,
        name ? "Use 1 to 40 letters, digits, _ or -, starting with a letter or digit." : "Give the room a name.",
      );
      this.createName.focus();
      return;
    }
    setFieldError(this.createName, this.createNameError, "");
    button.disabled = true;
    try {
      const room = await this.client.create(name, $("create-topic").value.trim(), $("create-private").checked);
      this.createDialog.close();
      this.nav.open(room.name);
    } catch (error) {
      if (error.code === "conflict") {
        // The server says no more than "taken" (a private room must not show through): neither do we.
        setFieldError(this.createName, this.createNameError, `The name “${name}” is not available. Choose another.`);
        this.createName.focus();
      } else setFieldError(null, this.createError, sentence(error.message));
    } finally {
      button.disabled = false;
    }
  }

  // -- direct message -------------------------------------------------------------------------

  setupDm() {
    this.dmDialog = $("dm-dialog");
    this.dmUser = $("dm-user");
    this.dmError = $("dm-user-error");
    $("dm-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitDm(event.submitter || event.target.querySelector("[type=submit]"));
    });
  }

  dm(user = "") {
    this.dmUser.value = user;
    setFieldError(this.dmUser, this.dmError, "");
    this.dmDialog.showModal();
    this.dmUser.focus();
  }

  async submitDm(button) {
    const user = this.dmUser.value.trim();
    if (!USER_NAME.test(user)) {
      setFieldError(this.dmUser, this.dmError, user ? `There is no user named “${user}”.` : "Enter a user name.");
      return;
    }
    if (this.store.isMe(user)) {
      setFieldError(this.dmUser, this.dmError, "That is you. Choose someone else.");
      return;
    }
    button.disabled = true;
    try {
      const room = await this.client.dm(user);
      this.dmDialog.close();
      this.nav.open(room.name);
    } catch (error) {
      const message = error.code === "not_found" ? `There is no user named “${user}”.` : sentence(error.message);
      setFieldError(this.dmUser, this.dmError, message);
    } finally {
      button.disabled = false;
    }
  }

  // -- invite ------------------------------------------------------------------------------------

  setupInvite() {
    this.inviteDialog = $("invite-dialog");
    this.inviteUser = $("invite-user");
    this.inviteError = $("invite-user-error");
    $("invite-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitInvite(event.submitter || event.target.querySelector("[type=submit]"));
    });
  }

  invite(room) {
    this.inviteRoom = room;
    $("invite-title").textContent = `Invite to #${room.name}`;
    this.inviteUser.value = "";
    setFieldError(this.inviteUser, this.inviteError, "");
    this.inviteDialog.showModal();
    this.inviteUser.focus();
  }

  async submitInvite(button) {
    const user = this.inviteUser.value.trim();
    if (!USER_NAME.test(user)) {
      setFieldError(this.inviteUser, this.inviteError, user ? `There is no user named “${user}”.` : "Enter a user name.");
      return;
    }
    button.disabled = true;
    try {
      await this.client.invite(this.inviteRoom, user);
      this.inviteDialog.close();
      this.nav.toast(`${user} was invited to #${this.inviteRoom.name}.`, "info");
    } catch (error) {
      const message = error.code === "not_found" ? `There is no user named “${user}”.` : sentence(error.message);
      setFieldError(this.inviteUser, this.inviteError, message);
    } finally {
      button.disabled = false;
    }
  }

  // -- email ---------------------------------------------------------------------------------------

  setupEmail() {
    this.emailDialog = $("email-dialog");
    this.emailAddress = $("email-address");
    this.emailNotify = $("email-notify");
    this.emailError = $("email-error");
    $("email-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = event.submitter || event.target.querySelector("[type=submit]");
      button.disabled = true;
      try {
        await this.client.setEmail(this.emailAddress.value.trim(), this.emailNotify.checked);
        this.emailDialog.close();
        this.nav.toast("Email notifications saved.", "info");
      } catch (error) {
        const message = error.code === "bad_request" ? "That is not an email address Parley can use." : sentence(error.message);
        setFieldError(this.emailAddress, this.emailError, message);
      } finally {
        button.disabled = false;
      }
    });
  }

  async email() {
    setFieldError(this.emailAddress, this.emailError, "");
    try {
      const settings = await this.client.email();
      this.emailAddress.value = settings.address;
      this.emailNotify.checked = settings.notify;
    } catch (error) {
      this.nav.toast(`Could not read your email settings: ${error.message}`);
      return;
    }
    this.emailDialog.showModal();
    this.emailAddress.focus();
  }

  // -- topic ---------------------------------------------------------------------------------------

  setupTopic() {
    this.topicDialog = $("topic-dialog");
    this.topicText = $("topic-text");
    this.topicError = $("topic-error");
    $("topic-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = event.submitter || event.target.querySelector("[type=submit]");
      button.disabled = true;
      try {
        await this.client.setTopic(this.topicRoom, this.topicText.value.trim());
        this.topicDialog.close();
      } catch (error) {
        setFieldError(this.topicText, this.topicError, sentence(error.message));
      } finally {
        button.disabled = false;
      }
    });
  }

  topic(room) {
    this.topicRoom = room;
    $("topic-title").textContent = `Topic of #${room.name}`;
    this.topicText.value = room.topic;
    setFieldError(this.topicText, this.topicError, "");
    this.topicDialog.showModal();
    this.topicText.focus();
  }

  // -- confirm ---------------------------------------------------------------------------------------

  /** Ask before deleting a message. Resolves true or false. */
  confirm() {
    const dialog = $("confirm-dialog");
    const form = $("confirm-form");
    return new Promise((resolve) => {
      let answer = false;
      const submit = (event) => {
        event.preventDefault();
        answer = true;
        dialog.close();
      };
      const closed = () => {
        form.removeEventListener("submit", submit);
        dialog.removeEventListener("close", closed);
        resolve(answer);
      };
      form.addEventListener("submit", submit);
      dialog.addEventListener("close", closed);
      dialog.showModal();
      $("confirm-yes").focus();
    });
  }
}
