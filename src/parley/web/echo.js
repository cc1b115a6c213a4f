// The tutorial's index.html, with the replies and errors shown on the page as well as logged.
const status = document.getElementById("status");
const replies = document.getElementById("replies");
const error = document.getElementById("error");

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const socket = new WebSocket(`${scheme}//${location.host}/`);

// What a close code means, for the codes a reason does not come with (docs/architecture.md).
const MEANINGS = {
  1001: "the server is going away",
  1006: "the connection was lost",
  1009: "the message was too big",
  1011: "the server had an internal error",
};

/** A sentence for the status line: "code 1005" alone meant nothing to anyone. */
function closedText({ code, reason }) {
  // 1005: closed without a code, which is what `socket.close()` (Disconnect) sends; 1000: a
  // normal close, which the server only echoes.
  if (code === 1000 || code === 1005) return "Disconnected (you closed the connection)";
  return `Disconnected: ${reason || MEANINGS[code] || "no reason given"} (code ${code})`;
}

socket.addEventListener("open", () => { status.textContent = "connected"; });
socket.addEventListener("close", (event) => {
  status.textContent = closedText(event);
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
