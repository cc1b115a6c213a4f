// The /admin page: server administration for users with the admin right. Checks who is signed
// in, then fills the sections; every action is a request to the admin API, which checks the
// admin right again (this page only hides what a member could not do anyway).
//
// Plain ES modules like the chat page; text from the server is only ever set as text.

import * as api from "./api.js";
import { sentence } from "./views/dialogs.js";
import { FiguresView, InvitesView, SettingsView } from "./views/admin-server.js";
import { RoomsView } from "./views/admin-rooms.js";
import { UsersView } from "./views/admin-users.js";

const $ = (id) => document.getElementById(id);

const report = {
  ok(text) {
    $("admin-error").hidden = true;
    $("admin-status").textContent = text;
  },
  fail(error) {
    $("admin-status").textContent = "";
    $("admin-error").textContent = sentence(error.message || "Something went wrong.");
    $("admin-error").hidden = false;
    if (error.status === 401) refuse("Your session ended: sign in again on the chat page.");
  },
};

function refuse(text) {
  $("admin").hidden = true;
  $("admin-boot").hidden = true;
  $("admin-refused").textContent = text;
  $("admin-refused").hidden = false;
}

async function boot() {
  let user;
  try {
    ({ user } = await api.me());
  } catch {
    $("admin-boot").textContent = "Cannot reach the server. Retrying…";
    setTimeout(boot, 3000);
    return;
  }
  if (!user) return refuse("Sign in on the chat page first, then come back to /admin.");
  if (!user.admin) return refuse("Only server administrators can use this page.");
  $("admin-boot").hidden = true;
  $("admin").hidden = false;
  const users = new UsersView(report);
  const rooms = new RoomsView(report);
  const settings = new SettingsView(report);
  const invites = new InvitesView(report);
  await Promise.all([users.search(""), rooms.search(""), settings.load(), invites.load()]);
  new FiguresView(report).start();
  $("user-query").focus();
}

boot();
