// The parts of a message that issue 17 added, shared by the room's timeline and the thread
// panel: the buttons of its menu (react, reply in thread, pin), what goes under it (the
// reactions, and on a thread's root the reply count) and the "(edited)" mark that opens the
// edit history. One place, so a message looks and behaves the same wherever it is shown.

import { el, icon } from "../dom.js";
import { time } from "../format.js";
import { closePicker, reactionBar, showPicker } from "./reactions.js";

/**
 * What the pieces need:
 * @typedef {object} MessageContext
 * @property {import("../store.js").Store} store
 * @property {import("../client.js").ChatClient} client
 * @property {(message: string) => void} toast
 * @property {() => Promise<boolean>} confirm     ask before deleting
 * @property {(room, item) => void} openThread    show the thread of a root (or of a reply: its root)
 * @property {(room, item) => void} showVersions  the edit history dialog
 */

/** Run a command; a refusal is shown (never dropped silently). */
async function attempt(ctx, what, action) {
  try {
    await action();
  } catch (error) {
    ctx.toast(`Could not ${what}: ${error.message}`);
  }
}

function toggleReaction(ctx, room, item, emoji, mine) {
  attempt(ctx, mine ? "remove the reaction" : "react", () => ctx.client.react(room, item, emoji, mine));
}

/** Open the picker for `item`; the emoji chosen is added (or removed, if it is already mine). */
export function pickReaction(ctx, room, item, anchor) {
  showPicker(anchor, (emoji) => {
    const mine = item.reactions.some((r) => r.emoji === emoji && r.users.some((name) => ctx.store.isMe(name)));
    toggleReaction(ctx, room, item, emoji, mine);
  });
}

/** The menu buttons every reader has on a message: react, reply in thread (`inThread`: not
 *  there, the panel is the thread), pin or unpin. */
export function socialButtons(ctx, room, item, { inThread = false } = {}) {
  if (item.deleted || item.mid === null) return [];
  const pinned = Boolean(item.pinned);
  return [
    el("button", { type: "button", class: "icon-button", "aria-label": "Add a reaction", title: "React", onclick: (event) => pickReaction(ctx, room, item, event.currentTarget) }, icon("smile")),
    inThread || item.thread !== null
      ? null
      : el("button", { type: "button", class: "icon-button", "aria-label": "Reply in thread", title: "Reply in thread", onclick: () => ctx.openThread(room, item) }, icon("thread")),
    el(
      "button",
      {
        type: "button",
        class: "icon-button",
        "aria-label": pinned ? "Unpin message" : "Pin message",
        title: pinned ? "Unpin" : "Pin",
        "aria-pressed": pinned ? "true" : "false",
        onclick: () => attempt(ctx, pinned ? "unpin the message" : "pin the message", () => ctx.client.pin(room, item, pinned)),
      },
      icon("pin"),
    ),
  ];
}

/** "(edited)": a button that opens the message's edit history. */
export function editedMark(ctx, room, item) {
  if (!item.edited || item.deleted) return null;
  return el("button", { type: "button", class: "edited link-button", title: "Show the edit history", "aria-label": "Edited: show the edit history", onclick: () => ctx.showVersions(room, item) }, "(edited)");
}

/** Under a message: its pin mark, its reactions and, on a root, its thread's summary. */
export function messageFooter(ctx, room, item, { inThread = false } = {}) {
  const parts = [];
  if (item.pinned && !item.deleted) parts.push(el("span", { class: "pinned-mark" }, icon("pin"), "Pinned"));
  const bar = reactionBar(item, {
    isMe: (name) => ctx.store.isMe(name),
    toggle: (emoji, mine) => toggleReaction(ctx, room, item, emoji, mine),
    pick: (anchor) => pickReaction(ctx, room, item, anchor),
  });
  if (bar) parts.push(bar);
  if (!inThread && item.thread === null && item.replies > 0) {
    const label = item.replies === 1 ? "1 reply" : `${item.replies} replies`;
    parts.push(
      el(
        "button",
        { type: "button", class: "thread-summary link-button", "aria-label": `${label}, last at ${time(item.lastReplyTs)}: open the thread`, onclick: () => ctx.openThread(room, item) },
        el("span", { class: "thread-count", text: label }),
        item.lastReplyTs ? el("span", { class: "thread-last", text: ` · last reply ${time(item.lastReplyTs)}` }) : null,
      ),
    );
  }
  if (!inThread && item.thread !== null && item.broadcast) {
    parts.push(el("button", { type: "button", class: "thread-summary link-button", onclick: () => ctx.openThread(room, item) }, "Replied in a thread"));
  }
  return parts.length ? el("div", { class: "msg-foot" }, parts) : null;
}

/** Scroll `list` to the message of `seq` and flash it (a clicked notification opened it);
 *  its node, or null when it is not drawn. The timeline's and the thread panel's. */
export function revealMessage(list, seq) {
  const node = list.querySelector(`[data-seq="${Number(seq)}"]`);
  if (!node) return null;
  node.scrollIntoView({ block: "center" });
  node.classList.add("flash");
  setTimeout(() => node.classList.remove("flash"), 2000);
  return node;
}

/**
 * A message's node was drawn again (a reaction, a pin, a reply count) while something in it
 * had the keyboard focus: put the focus on the same control in the new node (the same
 * reaction, the same menu button). Returns false when there is none.
 */
export function refocus(focused, node) {
  if (!focused) return false;
  const emoji = focused.getAttribute("data-emoji");
  const label = focused.getAttribute("aria-label");
  const selector = emoji ? `.reactions [data-emoji="${CSS.escape(emoji)}"]` : label ? `[aria-label="${CSS.escape(label)}"]` : null;
  const twin = selector ? node.querySelector(selector) : null;
  if (twin) twin.focus();
  return Boolean(twin);
}

/**
 * The inline editor of a message's text, for the timeline and the thread panel alike: Enter
 * or Save stores it, Escape or Cancel closes it (blank or unchanged text just closes it). A
 * refusal is shown and the text stays in the box.
 * @param {{save: (text: string) => Promise<void>, close: (focusBack: boolean) => void, toast: Function}} how
 */
export function editForm(item, how) {
  const input = el("textarea", { class: "edit-text", "aria-label": "Edit message", rows: "1", maxlength: "4000" });
  input.value = item.text;
  const save = async () => {
    const text = input.value;
    if (!text.trim() || text === item.text) {
      how.close(false);
      return;
    }
    input.disabled = true;
    try {
      await how.save(text);
    } catch (error) {
      input.disabled = false;
      input.focus();
      how.toast(`Could not edit the message: ${error.message}`);
    }
  };
  const form = el(
    "form",
    { class: "edit-form", onsubmit: (event) => (event.preventDefault(), save()) },
    input,
    el(
      "div",
      { class: "edit-actions" },
      el("span", { class: "edit-hint", text: "Enter to save, Esc to cancel" }),
      el("button", { type: "button", class: "ghost small-text", onclick: () => how.close(true) }, "Cancel"),
      el("button", { type: "submit", class: "primary small-text" }, "Save"),
    ),
  );
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      save();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      how.close(true);
    }
  });
  return { form, input };
}

export { closePicker };
