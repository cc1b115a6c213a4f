// Sign in and create an account: one form, two modes. Errors appear next to the field they
// are about (a taken name under the name, a weak password under the password), so the user
// knows what to change; a wrong password is reported without saying which part was wrong.
//
// An invitation link (`/?invite=TOKEN`) opens the form in "create account" mode: the server
// says first whether the link can still be used (and which rooms it joins), and the token goes
// with the registration. A used, expired or revoked link is said at once, in words.

import * as api from "../api.js";
import { setFieldError } from "../dom.js";
import { sentence } from "./dialogs.js";

const $ = (id) => document.getElementById(id);

export class AuthView {
  /** @param {(user: {name: string}) => void} onSignedIn */
  constructor(onSignedIn) {
    this.onSignedIn = onSignedIn;
    this.root = $("auth");
    this.form = $("auth-form");
    this.username = $("auth-username");
    this.password = $("auth-password");
    this.usernameError = $("auth-username-error");
    this.passwordError = $("auth-password-error");
    this.passwordHint = $("auth-password-hint");
    this.error = $("auth-error");
    this.submitButton = $("auth-submit");
    this.lead = $("auth-lead");
    this.loginTab = $("auth-mode-login");
    this.registerTab = $("auth-mode-register");
    this.mode = "login";
    this.busy = false;
    /** The invitation token of the link this page was opened with, or null. */
    this.invite = new URLSearchParams(location.search).get("invite");
    /** The rooms the invitation joins: the first one is opened after signing up. */
    this.inviteRooms = [];
    this.loginTab.addEventListener("click", () => this.setMode("login"));
    this.registerTab.addEventListener("click", () => this.setMode("register"));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  show(notice = "") {
    this.root.hidden = false;
    if (this.invite && !notice) {
      this.showInvite();
      return;
    }
    this.password.value = "";
    this.clearErrors();
    this.lead.textContent = notice || (this.mode === "login" ? "Sign in to chat." : "Create an account to chat.");
    // Not "notice": that class is the timeline's (indented past the avatars).
    this.lead.classList.toggle("auth-notice", Boolean(notice));
    (this.username.value ? this.password : this.username).focus();
  }

  hide() {
    this.root.hidden = true;
  }

  async showInvite() {
    this.setMode("register");
    this.password.value = "";
    this.lead.textContent = "Checking your invitation…";
    this.username.focus();
    try {
      const invite = await api.checkInvite(this.invite);
      this.inviteRooms = invite.rooms;
      const rooms = invite.rooms.length ? ` You will join ${invite.rooms.map((r) => `#${r}`).join(", ")}.` : "";
      this.lead.textContent = `${invite.by ? `${invite.by} invited you` : "You are invited"} to create an account.${rooms}`;
      this.lead.classList.add("auth-notice");
    } catch (error) {
      this.lead.textContent = "Create an account to chat.";
      setFieldError(null, this.error, sentence(error.message));
      if (error.code === "invite_invalid") this.invite = null;
    }
  }

  setMode(mode) {
    this.mode = mode;
    const register = mode === "register";
    this.loginTab.setAttribute("aria-pressed", String(!register));
    this.registerTab.setAttribute("aria-pressed", String(register));
    this.submitButton.textContent = register ? "Create account" : "Sign in";
    this.password.autocomplete = register ? "new-password" : "current-password";
    this.passwordHint.hidden = !register;
    this.lead.textContent = register ? "Create an account to chat." : "Sign in to chat.";
    this.lead.classList.remove("auth-notice");
    this.clearErrors();
  }

  clearErrors() {
    setFieldError(this.username, this.usernameError, "");
    setFieldError(this.password, this.passwordError, "");
    setFieldError(null, this.error, "");
  }

  async submit() {
    if (this.busy) return;
    this.clearErrors();
    const username = this.username.value.trim();
    const password = this.password.value;
    if (!username) {
      setFieldError(this.username, this.usernameError, "Enter your user name.");
      this.username.focus();
      return;
    }
    if (!password) {
      setFieldError(this.password, this.passwordError, "Enter your password.");
      this.password.focus();
      return;
    }
    const register = this.mode === "register";
    this.busy = true;
    this.submitButton.disabled = true;
    this.submitButton.textContent = register ? "Creating account…" : "Signing in…";
    try {
      let data;
      if (register && this.invite) data = await api.registerWithInvite(username, password, this.invite);
      else data = register ? await api.register(username, password) : await api.login(username, password);
      this.password.value = "";
      if (register && this.invite) {
        // The link is used up: leave it, and open the first room it joined.
        const room = this.inviteRooms[0];
        history.replaceState(null, "", room ? `/#${room}` : "/");
        this.invite = null;
      }
      this.onSignedIn(data.user);
    } catch (error) {
      this.showError(error);
    } finally {
      this.busy = false;
      this.submitButton.disabled = false;
      this.submitButton.textContent = register ? "Create account" : "Sign in";
    }
  }

  showError(error) {
    const message = sentence(error.message);
    switch (error.code) {
      case "invalid_username":
      case "username_taken":
        setFieldError(this.username, this.usernameError, message);
        this.username.focus();
        break;
      case "weak_password":
        setFieldError(this.password, this.passwordError, message);
        this.password.focus();
        break;
      case "invite_invalid":
        this.invite = null;
        setFieldError(null, this.error, message);
        break;
      case "wrong_credentials":
        setFieldError(null, this.error, "Wrong user name or password.");
        this.password.select();
        this.password.focus();
        break;
      default:
        setFieldError(null, this.error, message);
    }
  }
}
