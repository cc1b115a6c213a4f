// Parley's simple chat page, speaking the tutorial's plain-text protocol: every line sent is
// "name: text", and every line received is shown as text (never as HTML).
const status = document.getElementById("status");
const list = document.getElementById("messages");
const form = document.getElementById("composer");
const nameInput = document.getElementById("name");
const textInput = document.getElementById("text");

nameInput.value = localStorage.getItem("parley.name") || "";

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const socket = new WebSocket(`${scheme}//${location.host}/`);
socket.addEventListener("open", () => { status.textContent = "connected"; });
socket.addEventListener("close", (event) => {
  status.textContent = `disconnected (code ${event.code}); reload to reconnect`;
});
socket.addEventListener("message", ({ data }) => {
  const item = document.createElement("li");
  item.textContent = data;
  list.append(item);
  item.scrollIntoView({ block: "end" });
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  const text = textInput.value;
  if (!name || !text.trim() || socket.readyState !== WebSocket.OPEN) return;
  localStorage.setItem("parley.name", name);
  socket.send(`${name}: ${text}`);
  textInput.value = "";
  textInput.focus();
});
