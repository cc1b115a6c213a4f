// Reactions under a message: one button per emoji (pressed when it is mine; the names in its
// label and tooltip), and an emoji picker with a search and the emoji I used lately.
//
// The picker is a non-modal popover anchored to the message, fully keyboard-usable: the
// search field takes the focus, the arrow keys move through the grid, Enter picks, Escape
// closes and gives the focus back. Recent emoji are kept in localStorage (this browser only).

import { el } from "../dom.js";
import { userKey } from "../store.js";

const RECENT_KEY = "parley.recent-emoji";
const RECENT_MAX = 8;

// The picker's emoji, each with the words it is found by. Any emoji can still be sent by
// other clients; this page shows whatever the server stored.
export const EMOJI = [
  ["👍", "thumbs up yes ok +1 like"],
  ["👎", "thumbs down no -1 dislike"],
  ["❤️", "heart love red"],
  ["😂", "joy laugh tears funny"],
  ["😄", "smile happy grin"],
  ["🙂", "slight smile"],
  ["😉", "wink"],
  ["😍", "heart eyes love"],
  ["🤔", "thinking hmm"],
  ["😮", "wow surprised open mouth"],
  ["😢", "cry sad tear"],
  ["😡", "angry mad"],
  ["🙏", "pray thanks please"],
  ["👏", "clap applause bravo"],
  ["🙌", "raised hands celebrate hooray"],
  ["💪", "muscle strong"],
  ["👀", "eyes look watching"],
  ["🎉", "tada party celebrate"],
  ["🔥", "fire hot lit"],
  ["✅", "check done yes"],
  ["❌", "cross no wrong"],
  ["⚠️", "warning careful"],
  ["🚀", "rocket ship launch"],
  ["💯", "hundred perfect"],
  ["⭐", "star favourite"],
  ["💡", "bulb idea"],
  ["🐛", "bug insect"],
  ["☕", "coffee tea break"],
  ["🍕", "pizza food lunch"],
  ["🤝", "handshake deal"],
  ["👋", "wave hello bye"],
  ["😅", "sweat smile phew"],
  ["🙈", "see no evil monkey oops"],
  ["🤷", "shrug dunno"],
  ["😴", "sleep tired zzz"],
  ["🥳", "party face birthday"],
  ["😎", "cool sunglasses"],
  ["🤯", "mind blown exploding"],
  ["👌", "ok perfect"],
  ["➕", "plus add"],
];

export function recentEmoji() {
  try {
    const saved = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]");
    return Array.isArray(saved) ? saved.filter((emoji) => typeof emoji === "string").slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

function remember(emoji) {
  const recent = [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch {
    // storage full or refused: recent emoji are a convenience
  }
}

/** "alice, bob and 3 others": who reacted, from the names the server listed. */
export function reactedBy(reaction, isMe) {
  const names = reaction.users.map((name) => (isMe(name) ? "you" : name));
  const others = reaction.count - names.length;
  if (others > 0) names.push(others === 1 ? "1 other" : `${others} others`);
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/**
 * The reaction bar of a message (null when it has none and `always` is false).
 * @param {{isMe: Function, toggle: (emoji: string, mine: boolean) => void, pick: (anchor: Element) => void}} actions
 */
export function reactionBar(item, actions) {
  if (!item.reactions.length || item.deleted) return null;
  const bar = el("div", { class: "reactions", role: "group", "aria-label": "Reactions" });
  for (const reaction of item.reactions) {
    const mine = reaction.users.some((name) => actions.isMe(name));
    const who = reactedBy(reaction, actions.isMe);
    bar.append(
      el(
        "button",
        {
          type: "button",
          class: `reaction${mine ? " mine" : ""}`,
          "aria-pressed": mine ? "true" : "false",
          "aria-label": `${reaction.emoji} ${reaction.count}: ${who}${mine ? " (press to remove yours)" : ""}`,
          "data-emoji": reaction.emoji,
          onclick: () => actions.toggle(reaction.emoji, mine),
        },
        el("span", { class: "reaction-emoji", "aria-hidden": "true", text: reaction.emoji }),
        el("span", { class: "reaction-count", "aria-hidden": "true", text: String(reaction.count) }),
        // Shown on hover and on keyboard focus (CSS): the names, not only a number.
        el("span", { class: "reaction-who", role: "tooltip", "aria-hidden": "true", text: who }),
      ),
    );
  }
  bar.append(
    el(
      "button",
      { type: "button", class: "reaction add-reaction", "aria-label": "Add a reaction", title: "Add a reaction", onclick: (event) => actions.pick(event.currentTarget) },
      "+",
    ),
  );
  return bar;
}

let openPicker = null;

/** Close the picker if one is open (returns whether one was); the focus goes back to the
 *  button that opened it unless `refocus` is false (the user went elsewhere). */
export function closePicker(refocus = true) {
  if (!openPicker) return false;
  const { node, anchor, outside } = openPicker;
  openPicker = null;
  node.remove();
  document.removeEventListener("pointerdown", outside, true);
  if (refocus && anchor && anchor.isConnected) anchor.focus();
  return true;
}

/**
 * Open the emoji picker next to `anchor`; `choose(emoji)` is called with the one picked.
 */
export function showPicker(anchor, choose) {
  closePicker();
  const search = el("input", { type: "search", class: "picker-search", "aria-label": "Search emoji", placeholder: "Search emoji", autocomplete: "off", maxlength: "40" });
  const grid = el("div", { class: "picker-grid", role: "listbox", "aria-label": "Emoji" });
  const recentRow = el("div", { class: "picker-recent", role: "group", "aria-label": "Recently used" });
  const node = el("div", { class: "emoji-picker", role: "dialog", "aria-label": "Pick a reaction" }, search, recentRow, grid);
  const pick = (emoji) => {
    remember(emoji);
    closePicker();
    choose(emoji);
  };
  const button = (emoji, words) =>
    el("button", { type: "button", class: "picker-emoji", role: "option", "aria-label": `${emoji} ${words}`, title: words, "data-emoji": emoji, onclick: () => pick(emoji) }, emoji);
  const render = () => {
    const query = search.value.trim().toLowerCase();
    const recent = recentEmoji();
    recentRow.replaceChildren(...(query || !recent.length ? [] : [el("span", { class: "picker-label", text: "Recent" }), ...recent.map((emoji) => button(emoji, "recent"))]));
    const found = EMOJI.filter(([emoji, words]) => !query || words.includes(query) || emoji === query);
    grid.replaceChildren(...(found.length ? found.map(([emoji, words]) => button(emoji, words)) : [el("p", { class: "picker-none", text: "No emoji found" })]));
  };
  search.addEventListener("input", render);
  node.addEventListener("keydown", (event) => {
    const buttons = [...node.querySelectorAll(".picker-emoji")];
    const at = buttons.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closePicker();
    } else if (event.key === "Enter" && document.activeElement === search) {
      event.preventDefault();
      const first = grid.querySelector(".picker-emoji");
      if (first) pick(first.dataset.emoji);
    } else if (event.key === "ArrowDown" && document.activeElement === search) {
      event.preventDefault();
      buttons[0]?.focus();
    } else if (at >= 0 && ["ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp"].includes(event.key)) {
      event.preventDefault();
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 8, ArrowUp: -8 }[event.key];
      const next = at + step;
      if (next < 0) search.focus();
      else buttons[Math.min(next, buttons.length - 1)].focus();
    }
  });
  node.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !node.contains(event.relatedTarget)) closePicker(false);
  });
  const outside = (event) => {
    if (!node.contains(event.target)) closePicker(false);
  };
  render();
  const rect = anchor.getBoundingClientRect();
  document.body.append(node);
  // Below the anchor when there is room, else above it; always inside the window.
  const width = node.offsetWidth;
  const height = node.offsetHeight;
  const left = Math.max(8, Math.min(rect.left, window.innerWidth - width - 8));
  const top = rect.bottom + height + 8 < window.innerHeight ? rect.bottom + 4 : Math.max(8, rect.top - height - 4);
  node.style.left = `${left}px`;
  node.style.top = `${top}px`;
  openPicker = { node, anchor, outside };
  document.addEventListener("pointerdown", outside, true);
  search.focus();
}

/** Whether `user` is among the names listed for `emoji` on `item`. */
export function hasReacted(item, emoji, user) {
  const reaction = item.reactions.find((r) => r.emoji === emoji);
  return Boolean(reaction && reaction.users.some((name) => userKey(name) === userKey(user)));
}
