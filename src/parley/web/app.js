// Parley's browser client: the entry point. Decides between sign-in and chat, wires the views
// to the client, and handles what belongs to the whole page: which room is open (the URL's
// #hash, so reload and the back button work), the drawers of the phone layout, shortcuts.
//
// Plain ES modules, no build step, no framework, no third-party code: what the browser runs is
// exactly what is in this folder, and nothing is fetched from any other origin.

import * as api from "./api.js";
import { ChatClient } from "./client.js";
import { el } from "./dom.js";
import { FaviconBadge, Notifier } from "./notify.js";
import { AttachmentsView } from "./views/attachments.js";
import { AuthView } from "./views/auth.js";
import { Dialogs } from "./views/dialogs.js";
import { ProfileDialog } from "./views/profile.js";
import { ModerationView } from "./views/moderation.js";
import { SearchView } from "./views/search.js";
import { BannerView, ComposerView, RoomView } from "./views/room.js";
import { SidebarView } from "./views/sidebar.js";
import { setupSocial } from "./views/social.js";
import { TimelineView } from "./views/timeline.js";

const $ = (id) => document.getElementById(id);
const WIDE = matchMedia("(min-width: 1100px)"); // room list, room, member panel side by side
const NARROW = matchMedia("(max-width: 719px)"); // phone: the room list is a drawer

// -- toasts ---------------------------------------------------------------------------------

// How long a toast stays (ms). News ("you were invited") is read at a glance; an error may need
// reading twice, and stays while the pointer is on it or it has the keyboard focus.
const TOAST_SHOWN = { info: 4000, error: 12000 };

function toast(message, kind = "error") {
  const box = $("toasts");
  let timer = 0;
  const hold = () => clearTimeout(timer);
  const later = () => {
    hold();
    timer = setTimeout(() => item.remove(), TOAST_SHOWN[kind] || TOAST_SHOWN.error);
  };
  const item = el(
    "div",
    { class: `toast ${kind}`, onpointerenter: hold, onpointerleave: later, onfocusin: hold, onfocusout: later },
    el("span", { text: message }),
    el("button", { type: "button", class: "icon-button", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"),
  );
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();
  later();
}

// -- the parts -------------------------------------------------------------------------------

let shownRoom = null; // the Room on screen
let panelOpen = WIDE.matches;
let sidebarOpen = false;

const client = new ChatClient({
  onStatus: (status) => connectionStatus(status),
  onSignedOut: (why) => endChat(why),
  onError: (message) => toast(message),
  onReady: () => ready(),
  onRoomsChanged: () => followMembership(),
});
const store = client.store;
store.on("invited", ({ room, by }) => toast(`${store.nameWithHandle(by)} added you to #${room.name}`, "info"));
// The operator archived or renamed a room: what is on screen follows.
store.on("archived", ({ room }) => room === shownRoom && composer.show(room));
store.on("renamed", ({ room }) => {
  if (room !== shownRoom) return;
  history.replaceState(null, "", `#${room.name}`);
  roomView.show(room);
  composer.show(room);
});
const auth = new AuthView((user) => startChat(user));
const sidebar = new SidebarView(store);
const roomView = new RoomView(store);
const banner = new BannerView(() => client.conn.connectNow());
const composer = new ComposerView(
  store,
  {
    onSend: (room, text, files) => client.send(room, text, files),
    onTyping: (room) => room && client.typing(room),
    onEditLast: () => timeline.editLast(),
  },
  new AttachmentsView(store),
);
const dialogs = new Dialogs(store, client, { open: (name) => openRoom(name), toast });
const search = new SearchView(store, client, { open: (name) => openRoom(name) });
const social = setupSocial(store, client, {
  toast,
  confirm: () => dialogs.confirm(),
  openRoom: (name) => openRoom(name),
  reveal: (seq) => requestAnimationFrame(() => timeline.reveal(seq)),
  focusComposer: () => composer.focus(),
  activeRoom: () => shownRoom,
});
const profile = new ProfileDialog(store, client, { toast });
$("edit-profile").addEventListener("click", () => profile.open());
const moderation = new ModerationView(store, client, { toast });
const timeline = new TimelineView(store, client, {
  confirm: () => dialogs.confirm(),
  toast,
  focusComposer: () => composer.focus(),
  bits: social.bits,
});

// -- notifications -------------------------------------------------------------------------------

const favicon = new FaviconBadge();
sidebar.onTitle = (mentions) => favicon.show(mentions);
new Notifier(store, {
  open: (name, seq) => openRoom(name, { reveal: seq }),
  openThread: (name, root, seq) => social.openThreadAt(name, root, seq),
  following: (room, root) => client.following(room, root),
  showingThread: (name, root) => social.showingThread(name, root),
});

/** The "Enable desktop notifications" control: shown while the browser has not been asked. */
function renderNotificationsOffer() {
  const permission = Notifier.permission();
  // The email control stays; the desktop one goes once the browser was asked.
  $("enable-notifications").hidden = permission !== "default";
  $("notifications-state").textContent =
    permission === "denied" ? "Notifications are blocked for this site in the browser's settings." : "";
}

$("email-settings").addEventListener("click", () => dialogs.email());
$("enable-notifications").addEventListener("click", async () => {
  await Notifier.ask();
  renderNotificationsOffer();
});

/** The open room's level and mute, in the member panel. */
function renderNotifyControls() {
  const room = shownRoom;
  $("notify-controls").hidden = !room;
  if (!room) return;
  $("notify-level").value = room.notify;
  const mute = $("notify-mute");
  mute.querySelector('option[value="until"]')?.remove();
  if (room.mutedUntil > Date.now()) {
    const until = new Date(room.mutedUntil).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    mute.append(el("option", { value: "until", text: `Until ${until}` }));
    mute.value = "until";
  } else mute.value = "0";
}

async function changeNotify(level, until) {
  const room = shownRoom;
  if (!room) return;
  try {
    await client.setNotify(room, level, until);
  } catch (error) {
    toast(`Could not change the notifications of #${room.name}: ${error.message}`);
    renderNotifyControls();
  }
}

$("notify-level").addEventListener("change", (event) => {
  const room = shownRoom;
  if (room) changeNotify(event.target.value, room.mutedUntil > Date.now() ? room.mutedUntil : 0);
});
$("notify-mute").addEventListener("change", (event) => {
  const room = shownRoom;
  if (!room || event.target.value === "until") return;
  const span = Number(event.target.value);
  changeNotify(room.notify, span ? Date.now() + span : 0);
});
store.on("rooms", () => renderNotifyControls());

// -- signing in and out ------------------------------------------------------------------------

async function boot() {
  let user;
  try {
    ({ user } = await api.me());
  } catch {
    $("boot").textContent = "Cannot reach the server. Retrying…";
    setTimeout(boot, 3000);
    return;
  }
  if (user) {
    await acceptInvite();
    startChat(user);
  } else {
    $("boot").hidden = true;
    auth.show();
  }
}

/** A signed-in user who opened an invitation link to rooms (`/?invite=TOKEN`) joins them, and
 *  lands in the first; the link leaves the address bar either way (it works once). */
async function acceptInvite() {
  const token = new URLSearchParams(location.search).get("invite");
  if (!token) return;
  let hash = location.hash;
  try {
    const { joined } = await api.acceptInvite(token);
    if (joined.length) {
      hash = `#${joined[0]}`;
      toast(`You joined ${joined.map((name) => `#${name}`).join(", ")}.`, "info");
    }
  } catch (error) {
    toast(error.message);
  }
  history.replaceState(null, "", `/${hash}`);
}

function startChat(user) {
  auth.hide();
  $("boot").hidden = true;
  $("chat").hidden = false;
  store.me = user.name;
  sidebar.render();
  roomView.show(null);
  $("room-name").textContent = "Connecting…";
  $("room-topic").textContent = "";
  composer.show(null);
  renderNotificationsOffer();
  layout();
  client.start();
}

function endChat(notice) {
  client.stop();
  banner.stop();
  dialogs.closeAll();
  shownRoom = null;
  timeline.show(null);
  composer.show(null);
  $("toasts").replaceChildren(); // the chat's news and errors are not about the sign-in page
  $("chat").hidden = true;
  auth.show(notice);
}

$("sign-out").addEventListener("click", async () => {
  // Close our socket first (1000: no reconnection), then end the session on the server, which
  // also closes this session's sockets in other tabs (they go back to sign-in).
  client.stop();
  try {
    await api.logout();
  } catch {
    // The cookie is cleared by the server's answer; if it never came, the session expires.
  }
  endChat("You have signed out.");
});

// -- connection ----------------------------------------------------------------------------------

function connectionStatus(status) {
  banner.show(status);
  const words = { open: "online", connecting: "connecting…", waiting: "offline", offline: "offline" };
  sidebar.status(words[status.state] || "", status.state === "open");
}

/** A welcome was processed: show the room from the URL, or the one we were in, or the lobby. */
function ready() {
  social.ready();
  const wanted = [hashRoom(), store.active, "lobby"];
  let room;
  for (const name of wanted) {
    const candidate = name ? store.room(name) : undefined;
    if (candidate && candidate.member) {
      room = candidate;
      break;
    }
  }
  room = room || store.memberRooms()[0];
  if (room && room === shownRoom) {
    roomView.show(room);
    timeline.refresh();
    client.who(room).catch(() => {});
  } else {
    openRoom(room ? room.name : null, { replace: true, focus: !NARROW.matches });
  }
}

/** After a membership change from elsewhere: leave a room we are no longer in. */
function followMembership() {
  if (shownRoom && !shownRoom.member) openRoom("lobby", { replace: true });
  else if (!shownRoom) ready();
}

// -- rooms -----------------------------------------------------------------------------------------

function hashRoom() {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch {
    return "";
  }
}

/**
 * Show a room. The URL's hash follows (a new history entry, unless `replace`), so the back
 * button goes to the previous room and a reload comes back here.
 */
function openRoom(name, { replace = false, focus = true, reveal = 0 } = {}) {
  let room = name ? store.room(name) : undefined;
  if (room && !room.member) room = undefined;
  if (!room) room = store.room("lobby")?.member ? store.room("lobby") : store.memberRooms()[0];
  if (room && hashRoom() !== room.name) {
    if (replace) history.replaceState(null, "", `#${room.name}`);
    else history.pushState(null, "", `#${room.name}`);
  }
  setSidebar(false);
  if (reveal) requestAnimationFrame(() => timeline.reveal(reveal));
  if (room === shownRoom && room) return;
  shownRoom = room || null;
  store.active = room ? room.name : null;
  if (room) room.invitedBy = null; // seen: no longer "new"
  timeline.show(shownRoom);
  social.roomShown(shownRoom);
  roomView.show(shownRoom);
  composer.show(shownRoom);
  sidebar.render();
  renderNotifyControls();
  moderation.show(shownRoom);
  if (room && client.connected) client.who(room).catch(() => {});
  if (focus && !NARROW.matches) composer.focus();
}

window.addEventListener("hashchange", () => openRoom(hashRoom(), { replace: true }));
window.addEventListener("popstate", () => openRoom(hashRoom(), { replace: true }));

$("browse-rooms").addEventListener("click", () => dialogs.browse());
$("create-room").addEventListener("click", () => dialogs.create());
$("new-dm").addEventListener("click", () => dialogs.dm());
$("edit-topic").addEventListener("click", () => shownRoom && dialogs.topic(shownRoom));
$("invite").addEventListener("click", () => shownRoom && dialogs.invite(shownRoom));
$("leave-room").addEventListener("click", async () => {
  const room = shownRoom;
  if (!room) return;
  try {
    await client.leave(room);
    openRoom("lobby", { replace: true });
  } catch (error) {
    toast(`Could not leave #${room.name}: ${error.message}`);
  }
});

// -- layout: drawers on small screens ---------------------------------------------------------------

function layout() {
  const chat = $("chat");
  chat.classList.toggle("sidebar-open", sidebarOpen && NARROW.matches);
  chat.classList.toggle("panel-open", panelOpen);
  $("open-sidebar").setAttribute("aria-expanded", String(sidebarOpen && NARROW.matches));
  $("toggle-members").setAttribute("aria-expanded", String(panelOpen));
  const overlay = (sidebarOpen && NARROW.matches) || (panelOpen && !WIDE.matches);
  $("scrim").hidden = !overlay;
  // While a drawer covers the room, keyboard and screen reader users stay inside the drawer.
  $("room-view").inert = overlay;
  $("sidebar").inert = NARROW.matches && !sidebarOpen;
  $("members-panel").inert = !panelOpen;
}

function setSidebar(open) {
  if (open === sidebarOpen) return;
  sidebarOpen = open;
  layout();
  if (open) ($("sidebar").querySelector(".room-link.active") || $("close-sidebar")).focus();
}

function setPanel(open) {
  panelOpen = open;
  layout();
  if (open && !WIDE.matches) $("close-members").focus();
  else if (!open) $("toggle-members").focus();
}

$("open-sidebar").addEventListener("click", () => setSidebar(true));
$("close-sidebar").addEventListener("click", () => {
  setSidebar(false);
  $("open-sidebar").focus();
});
$("toggle-members").addEventListener("click", () => setPanel(!panelOpen));
$("close-members").addEventListener("click", () => setPanel(false));
$("scrim").addEventListener("click", () => {
  setSidebar(false);
  if (!WIDE.matches) panelOpen = false;
  layout();
});
WIDE.addEventListener("change", () => {
  panelOpen = WIDE.matches;
  layout();
});
NARROW.addEventListener("change", () => {
  sidebarOpen = false;
  layout();
});

// -- keyboard ----------------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  if ($("chat").hidden || document.querySelector("dialog[open]")) return;
  const typing = event.target.closest?.("input, textarea, [contenteditable]");
  if ((event.key === "k" && (event.ctrlKey || event.metaKey)) || (event.key === "/" && !typing)) {
    // Ctrl+K (⌘K) anywhere, or "/" when not typing: search.
    event.preventDefault();
    search.open();
  } else if (event.key === "Escape") {
    if (sidebarOpen) {
      setSidebar(false);
      $("open-sidebar").focus();
    } else if (panelOpen && !WIDE.matches) setPanel(false);
    else if (!timeline.editing) composer.focus();
  } else if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
    // Alt+↑ / Alt+↓: the previous / next room of the list (as in Slack and Element).
    const links = [...document.querySelectorAll("#sidebar .room-link")];
    if (!links.length) return;
    event.preventDefault();
    const current = links.findIndex((link) => link.dataset.room === store.active);
    const next = (current + (event.key === "ArrowUp" ? -1 : 1) + links.length) % links.length;
    openRoom(links[next].dataset.room);
  }
});

boot();
