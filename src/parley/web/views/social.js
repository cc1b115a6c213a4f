// Issue 17's views, made and wired in one place: the thread panel, the followed threads, the
// pinned messages and the edit history, with the two buttons they add to the room header.
// Returns the context the timeline's messages use (views/messagebits.js).

import { el, icon } from "../dom.js";
import { PinsView } from "./pins.js";
import { ThreadView } from "./thread.js";
import { ThreadListView } from "./threadlist.js";
import { VersionsView } from "./versions.js";

/**
 * @param {{toast: Function, confirm: () => Promise<boolean>, openRoom: (name: string) => void,
 *          reveal: (seq: number) => void, focusComposer: Function, activeRoom: () => object|null}} ui
 */
export function setupSocial(store, client, ui) {
  const chat = document.getElementById("chat");
  const bits = {
    store,
    client,
    toast: ui.toast,
    focusComposer: ui.focusComposer,
    confirm: ui.confirm,
    openThread: (room, item) => {
      if (store.active !== room.name) ui.openRoom(room.name);
      thread.open(room, item);
    },
    showVersions: (room, item) => versions.show(room, item),
  };
  const thread = new ThreadView(store, client, bits, {
    onToggle: (open) => chat.classList.toggle("thread-open", open),
  });
  const versions = new VersionsView(store, client);
  const pins = new PinsView(store, client, {
    toast: ui.toast,
    reveal: (room, event) => {
      ui.openRoom(room.name);
      ui.reveal(event.seq);
    },
  });

  const threadsButton = el(
    "button",
    { type: "button", id: "open-threads", class: "icon-button", "aria-label": "Threads", title: "Threads you follow" },
    icon("thread"),
    el("span", { class: "badge dot-badge threads-badge", hidden: true }),
  );
  const pinsButton = el("button", { type: "button", id: "open-pins", class: "icon-button", "aria-label": "Pinned messages", title: "Pinned messages" }, icon("pin"));
  pinsButton.addEventListener("click", () => {
    const room = ui.activeRoom();
    if (room) pins.show(room);
  });
  const actions = document.querySelector(".room-actions");
  actions.prepend(threadsButton, pinsButton);
  const threadList = new ThreadListView(store, client, { openThread: bits.openThread }, threadsButton);

  return {
    bits,
    thread,
    /** The room shown changed: a thread of another room closes. */
    roomShown(room) {
      if (thread.isOpen && thread.room !== room) thread.close();
    },
    /** Open the thread of `root` in room `name` at its reply `seq` (a clicked notification). */
    openThreadAt(name, root, seq) {
      const room = store.room(name);
      if (!room || !room.member) return;
      if (store.active !== room.name) ui.openRoom(room.name);
      thread.open(room, store.message(room, root) || { mid: root, thread: null }, { reveal: seq });
    },
    /** Whether the thread panel shows the thread of `root` in room `name`. */
    showingThread(name, root) {
      return thread.isOpen && thread.room?.name === name && thread.root === root;
    },
    /** A (re)connection is ready: the followed threads' unread total is asked again. */
    ready() {
      threadList.refreshSoon();
      thread.refreshFollowing();
    },
  };
}
