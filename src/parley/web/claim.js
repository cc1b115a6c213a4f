// The claim page (claim.html): set the password of an imported account with the single-use
// token of its claim link (/claim#TOKEN), then go to the chat, signed in.
import { claim } from "./api.js";

const form = document.getElementById("claim-form");
const password = document.getElementById("claim-password");
const error = document.getElementById("claim-error");
const submit = document.getElementById("claim-submit");
const token = decodeURIComponent(location.hash.slice(1));

function say(message) {
  error.textContent = message;
  error.hidden = false;
}

if (!token) {
  say("This link has no claim token. Ask the server's operator for your claim link.");
  submit.disabled = true;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  submit.disabled = true;
  try {
    await claim(token, password.value);
    // Leave the token out of the history: it is used up.
    location.replace("/");
  } catch (failure) {
    say(failure.message);
    submit.disabled = false;
  }
});
