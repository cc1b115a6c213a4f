// A user's name as every view draws it: their display name, and beside it their user name
// ("@alice") when the two differ. A display name is free text that anyone may choose, so it
// never stands alone where it could pass for someone else; the user name is unique.

import { el } from "../dom.js";

/** The nodes that name `user`: the display name (class `cls`), then a space and the @handle
 *  when they differ (the space is not drawn in a flex row, and separates them elsewhere). */
export function nameNodes(store, user, cls = "author") {
  const shown = store.displayName(user);
  const name = el("span", { class: cls, text: shown });
  return shown === user ? [name] : [name, " ", el("span", { class: "handle", text: `@${user}` })];
}
