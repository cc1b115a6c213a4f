// A person's avatar, wherever one is drawn (timeline, member list, direct messages, the
// sidebar's "me"): their picture when they set one, else the initial of their name on a
// colour of their own. The picture has the initials' box and size, so nothing moves when it
// arrives, and if it cannot be loaded the initials come back.

import { el } from "../dom.js";
import { hue, initial } from "../format.js";
import { avatarUrl } from "../uploads.js";

/**
 * `profile`: the person's profile from the store (`store.profile(name)`), or nothing for
 * initials. `size` "small" is the sidebar's. Decorative (hidden from screen readers): the
 * name is always written next to it.
 */
export function avatar(name, profile = null, size = "") {
  const classes = `avatar ${hue(name)}${size ? ` ${size}` : ""}`;
  const node = el("span", { class: classes, "aria-hidden": "true", text: initial(name) });
  if (profile && profile.avatar) {
    const picture = el("img", { class: "avatar-image", src: avatarUrl(profile.avatar), alt: "", width: "36", height: "36", decoding: "async" });
    picture.addEventListener("error", () => {
      picture.remove();
      node.classList.remove("has-image");
    });
    node.classList.add("has-image");
    node.append(picture);
  }
  return node;
}
