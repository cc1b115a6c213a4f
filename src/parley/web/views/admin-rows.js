// What the admin page's lists share: a row with a name, tags and action buttons, a button
// that asks again before a destructive action, dates, and focus that survives re-rendering
// (a keyboard user who pressed "Disable bob" lands on "Enable bob").

import { el } from "../dom.js";

export const when = (ms) => new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

/** A button; `label` is its accessible name when the visible text needs the row's name. */
export function action(text, label, onclick, cls = "ghost small-text") {
  return el("button", { type: "button", class: cls, "aria-label": label, "data-label": label, onclick }, text);
}

/** A list row: name, tags, actions (and room below for what an action opens). */
export function row(name, tags, actions) {
  return el(
    "li",
    { class: "admin-row" },
    el("div", { class: "admin-row-main" },
      el("span", { class: "admin-name", text: name }),
      el("span", { class: "admin-tags" }, tags.filter(Boolean).map((tag) => el("span", { class: "admin-tag", text: tag })))),
    el("div", { class: "admin-actions" }, actions),
    el("div", { class: "admin-extra" }),
  );
}

/** Replace `old` by `fresh` and give the focus to the button with the same label or, when
 *  the action flipped (Disable → Enable), to the button at the same place. */
export function replaceRow(old, fresh) {
  const focused = document.activeElement;
  const buttons = [...old.querySelectorAll(".admin-actions button")];
  const index = buttons.indexOf(focused);
  old.replaceWith(fresh);
  if (index < 0) return;
  const again = [...fresh.querySelectorAll(".admin-actions button")];
  const same = again.find((b) => b.dataset.label === focused.dataset.label);
  (same || again[index] || again[0])?.focus();
}

/** "Delete" that turns into "Confirm" / "Cancel" in place, so a slip of the finger or the
 *  keyboard deletes nothing. */
export function confirming(text, label, confirmLabel, run) {
  const box = el("span", { class: "admin-confirm" });
  const first = action(text, label, () => {
    const yes = action(`Confirm ${text.toLowerCase()}`, confirmLabel, () => run(), "danger small-text");
    const no = action("Cancel", `Cancel: ${label}`, () => {
      box.replaceChildren(first);
      first.focus();
    });
    box.replaceChildren(yes, no);
    yes.focus();
  });
  box.append(first);
  return box;
}
