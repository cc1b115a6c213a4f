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
    this.browseMore = $("browse-more");
    this.browseRooms = [];
    this.browseNext = null;
    this.browseAsked = 0; // which listing is current: an older answer is ignored
    this.browseTimer = null;
    $("browse-form").addEventListener("submit", (event) => event.preventDefault());
    this.browseFilter.addEventListener("input", () => {
      clearTimeout(this.browseTimer);
      this.browseTimer = setTimeout(() => this.loadBrowse(false), 200);
    });
    this.browseMore.addEventListener("click", () => this.loadBrowse(true));
    $("browse-create").addEventListener("click", () => {
      this.browseDialog.close();
      this.create();
    });
  }

  async browse() {
    this.browseFilter.value = "";
    this.browseRooms = [];
    this.browseNext = null;
    setFieldError(null, this.browseError, "");
    this.renderBrowse("Loading…");
    this.browseDialog.showModal();
    this.browseFilter.focus();
    await this.loadBrowse(false);
  }

  /**
   * Ask the server for a page of rooms: the first page for the filter, or (`more`) the next
   * page of the listing shown. The server filters by name and sorts; a page is bounded.
   */
  async loadBrowse(more) {
    const filter = this.browseFilter.value.trim().replace(/^#/, "");
    const asked = ++this.browseAsked;
    setFieldError(null, this.browseError, "");
    if (!/^[A-Za-z0-9_.:-]{0,80}$/.test(filter)) {
      // No room name holds such characters: nothing can match (the server would refuse it).
      this.browseRooms = [];
      this.browseNext = null;
      this.renderBrowse();
      return;
    }
    try {
      const reply = await this.client.listRooms(filter, more ? this.browseNext : null);
      if (asked !== this.browseAsked) return;
      const rooms = reply.rooms.filter((info) => info.kind === "public");
      this.browseRooms = more ? [...this.browseRooms, ...rooms] : rooms;
      this.browseNext = reply.more ? reply.next : null;
      this.renderBrowse();
    } catch (error) {
      if (asked !== this.browseAsked) return;
      setFieldError(null, this.browseError, `Could not list the rooms: ${error.message}`);
      this.renderBrowse();
    }
  }

  renderBrowse(placeholder = null) {
    const filter = this.browseFilter.value.trim();
    this.browseMore.hidden = !this.browseNext;
    // The list is drawn again when a page arrives: a keyboard user who tabbed in before it
    // came is not thrown out of the dialog. The row that had the focus keeps it; if that room
    // is no longer listed, the first row takes it (or the filter, when nothing matches).
    const focused = this.browseList.contains(document.activeElement) ? document.activeElement.dataset.room : null;
    if (!this.browseRooms.length) {
      const text = placeholder || (filter ? "No room matches." : "No public rooms yet.");
      this.browseList.replaceChildren(el("li", { class: "empty", text }));
      if (focused) this.browseFilter.focus();
      return;
    }
    const rooms = this.browseRooms.map((info) => {
      const known = this.store.rooms.get(info.name);
      return known && known.member ? known : info;
    });
    this.browseList.replaceChildren(...rooms.map((room, index) => el("li", {}, this.browseRow(room, index))));
    if (focused) {
      const rows = [...this.browseList.querySelectorAll(".browse-row")];
      (rows.find((node) => node.dataset.room === focused) || rows[0]).focus();
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
