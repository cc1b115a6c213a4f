// The WebSocket to the server: one parley.v1 connection at a time, reconnected for as long as
// the user stays signed in.
//
// * The session cookie rides on the handshake, so the first frame is the server's `welcome`;
//   commands are only sent after it (the app then sends `resume`, see client.js).
// * Replies are matched to commands by `id` / `re` (request()); everything else (events,
//   presence, acks ...) goes to onMessage in arrival order.
// * Close codes (docs/architecture.md, protocol/errors.py): 1008 means the session was revoked
//   or expired → back to sign-in. Anything else (1001 server restart, 1006 network, 1011,
//   1013, 4001, 4003 ...) → reconnect with exponential backoff and jitter, so that thousands of
//   clients of a restarted server do not all come back in the same second.
// * Browsers notice a dead network late (a WebSocket can sit "open" for minutes), so the
//   connection also listens to the browser's online/offline events and pings the server now
//   and then: no answer in time means the socket is dropped and replaced.

import { me } from "./api.js";

export const SUBPROTOCOL = "parley.v1";
const FIRST_DELAY = 500; // ms before the first reconnection attempt
const MAX_DELAY = 30_000; // the backoff doubles up to this
const PING_EVERY = 25_000;
const PING_TIMEOUT = 10_000;
const REQUEST_TIMEOUT = 20_000;

/**
 * The least delay before reconnecting after a close code (docs/protocol.md, section 7): the
 * server in trouble (1011, 1013) or flooded by us (4003) gets a few seconds; a close that means
 * this client broke the protocol (1002, 1003, 1007, 1009) would only repeat itself soon.
 */
function floorFor(code) {
  if (code === 1011 || code === 1013 || code === 4003) return 5_000;
  if (code === 1002 || code === 1003 || code === 1007 || code === 1009) return 60_000;
  return 0; // 1001 (restart), 1006 (network), 4001 (too slow): come back soon
}

export class CommandError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class Connection {
  /**
   * @param {object} handlers
   *   onWelcome(msg)    a (re)connection is ready: the welcome frame
   *   onMessage(msg)    every other frame not claimed by a pending request
   *   onClosed()        a welcomed connection is gone (pending sends failed)
   *   onStatus(status)  {state, retryAt}: state is connecting|open|waiting|offline|stopped
   *   onSignedOut(why)  the server ended the session (close 1008, or 401 on reconnect)
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.welcomed = false;
    this.partial = null;
    this.state = "idle";
    this.stopped = true;
    this.attempt = 0;
    this.retryAt = 0;
    this.timer = 0;
    this.pingTimer = 0;
    this.nextId = 1;
    this.generation = 0; // bumped on stop(): stale async checks must not act afterwards
    this.waiting = new Map(); // command id -> {resolve, reject, timer, tolerant}
    this.onOnline = () => {
      this.attempt = 0;
      this.connectNow();
    };
    this.onOffline = () => this.drop(true);
    this.onVisible = () => {
      // Background tabs get their timers throttled: come back at once when the user does.
      if (document.visibilityState === "visible" && this.state === "waiting") this.connectNow();
    };
  }

  get open() {
    return this.state === "open";
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
  }

  /** Close for good (sign-out): code 1000, no reconnection. */
  stop() {
    this.stopped = true;
    this.generation += 1;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    document.removeEventListener("visibilitychange", this.onVisible);
    clearTimeout(this.timer);
    const ws = this.ws;
    if (ws) {
      this.detach(ws);
      ws.close(1000, "signed out");
      this.lost(ws, 1000);
    }
    this.setState("stopped");
  }

  /** Skip the rest of the backoff delay ("Reconnect now", the network came back ...). */
  connectNow() {
    if (this.stopped || this.ws) return;
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.stopped || this.ws) return;
    if (navigator.onLine === false) {
      this.setState("offline");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/ws`, SUBPROTOCOL);
    } catch {
      this.schedule();
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    this.partial = null;
    this.setState("connecting");
    ws.onmessage = (event) => this.frame(event.data);
    ws.onclose = (event) => this.lost(ws, event.code);
    // An "error" event is always followed by "close"; the close code says what happened.
  }

  frame(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // not ours to interpret; parley.v1 frames are always JSON objects
    }
    if (msg === null || typeof msg !== "object") return;
    if (msg.type === "welcome" || msg.type === "more_rooms") {
      this.welcomePart(msg);
      return;
    }
    const waiter = typeof msg.re === "string" ? this.waiting.get(msg.re) : undefined;
    if (waiter) {
      if (msg.type === "error" && waiter.tolerant) {
        // e.g. resume: an error about one room, the reply for the rest still follows.
        this.handlers.onMessage(msg);
        return;
      }
      this.waiting.delete(msg.re);
      clearTimeout(waiter.timer);
      if (msg.type === "error") waiter.reject(new CommandError(msg.code, msg.message));
      else waiter.resolve(msg);
      return;
    }
    this.handlers.onMessage(msg);
  }

  /**
   * A welcome, or a page of its room list: a user in very many rooms gets the list in pages
   * (`more`), each followed by a `more_rooms` message, before anything else. The welcome is
   * handed on whole, once its last page arrived.
   */
  welcomePart(msg) {
    if (msg.type === "welcome") this.partial = msg;
    else if (this.partial) this.partial.rooms.push(...msg.rooms);
    else return; // not after a welcome: nothing to continue
    if (msg.more) return;
    const welcome = this.partial;
    this.partial = null;
    welcome.more = false;
    this.welcomed = true;
    this.attempt = 0;
    this.setState("open");
    this.startPing();
    this.handlers.onWelcome(welcome);
  }

  /**
   * Send a command and wait for its reply (`ok`, `history`, `who` ...). Rejects with a
   * CommandError: the server's error code, or "offline" / "timeout".
   */
  request(type, fields = {}, { timeout = REQUEST_TIMEOUT, tolerant = false } = {}) {
    if (!this.open) return Promise.reject(new CommandError("offline", "Not connected to the server."));
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new CommandError("timeout", "The server did not answer in time."));
      }, timeout);
      this.waiting.set(id, { resolve, reject, timer, tolerant });
      this.ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  /** Send a frame without waiting for a reply (send, typing, read). False when offline. */
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  startPing() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.open) return;
      this.request("ping", {}, { timeout: PING_TIMEOUT }).catch((error) => {
        if (error.code === "timeout") this.drop(false); // silently dead: replace it
      });
    }, PING_EVERY);
  }

  detach(ws) {
    ws.onmessage = null;
    ws.onclose = null;
  }

  /** Give up on the current socket now, without waiting for a close the network may never bring. */
  drop(offline) {
    const ws = this.ws;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(4000, offline ? "offline" : "no answer");
      } catch {
        // closing a socket that never opened can throw in some browsers; it is gone either way
      }
      this.lost(ws, 1006);
    } else if (offline && !this.stopped) {
      clearTimeout(this.timer);
      this.setState("offline");
    }
  }

  lost(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    this.partial = null;
    for (const waiter of this.waiting.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new CommandError("offline", "The connection was lost."));
    }
    this.waiting.clear();
    if (wasWelcomed) this.handlers.onClosed(code);
    if (this.stopped) return;
    if (code === 1008) {
      // Signed out elsewhere, expired, or the account was disabled (the reason is for logs).
      this.signedOut("Your session has ended. Please sign in again.");
      return;
    }
    if (navigator.onLine === false) {
      this.setState("offline");
      return;
    }
    if (wasWelcomed) {
      this.schedule(floorFor(code));
      return;
    }
    // Refused before the welcome: the handshake answers 401 when the session is gone, but a
    // browser only reports "1006". Ask the API, which tells a dead session ({user: null}) from
    // a dead server (no answer: keep retrying).
    this.schedule();
    const generation = this.generation;
    me()
      .then(({ user }) => {
        if (!user && generation === this.generation && !this.stopped) {
          this.signedOut("Your session has ended. Please sign in again.");
        }
      })
      .catch(() => {}); // unreachable or failing: the scheduled reconnection tries again
  }

  signedOut(reason) {
    this.stop();
    this.handlers.onSignedOut(reason);
  }

  schedule(floor = 0) {
    clearTimeout(this.timer);
    const base = Math.max(floor, Math.min(MAX_DELAY, FIRST_DELAY * 2 ** this.attempt));
    const delay = base * (0.5 + Math.random()); // ±50% jitter
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.setState("waiting");
    this.timer = setTimeout(() => this.connect(), delay);
  }

  setState(state) {
    this.state = state;
    this.handlers.onStatus({ state, retryAt: this.retryAt, attempt: this.attempt });
  }
}
