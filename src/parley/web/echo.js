// The tutorial's index.html, with the replies and errors shown on the page as well as logged.
const status = document.getElementById("status");
const replies = document.getElementById("replies");
const error = document.getElementById("error");

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const socket = new WebSocket(`${scheme}//${location.host}/`);

socket.addEventListener("open", () => { status.textContent = "connected"; });
socket.addEventListener("close", (event) => {
  status.textContent = `disconnected (code ${event.code})`;
});
socket.addEventListener("message", ({ data }) => {
  console.log("Message from socket server: ", data);
  const item = document.createElement("li");
  item.textContent = data;
  replies.append(item);
});

function showError(text) {
  console.error(text);
  error.textContent = text;
  error.hidden = false;
}

document.getElementById("send").addEventListener("click", () => {
  if (socket.readyState !== WebSocket.OPEN) {
    // Browsers drop a send on a closed socket with only a console warning; say it on the page.
    showError("Cannot send: the WebSocket is already in CLOSING or CLOSED state.");
    return;
  }
  error.hidden = true;
  socket.send("Hello");
});

document.getElementById("disconnect").addEventListener("click", () => {
  socket.close();
});
