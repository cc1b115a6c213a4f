// The account API over HTTP (server/api.py): register, sign in, sign out, who am I.
//
// The session token is never visible to this page: the server sets it as an HttpOnly,
// SameSite=Strict cookie (__Host-parley_session over HTTPS), the browser sends it with these requests and with the WebSocket
// handshake. So even a script injected into the page could not steal it.

export class ApiError extends Error {
  /** @param {string} code the server's error code (e.g. "username_taken"), or "network" */
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** One JSON request to the server's API; throws ApiError with the server's code and message. */
export async function call(method, path, body) {
  const init = { method, credentials: "same-origin", cache: "no-store", headers: {} };
  if (body !== undefined) {
    // The server requires JSON with this content type: a cross-site HTML form cannot send it.
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError("network", "Cannot reach the server. Check your connection and try again.", 0);
  }
  let data = {};
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = {};
    }
  }
  if (!response.ok) {
    throw new ApiError(
      typeof data.error === "string" ? data.error : `http_${response.status}`,
      typeof data.message === "string" ? data.message : `The server answered ${response.status}.`,
      response.status,
    );
  }
  return data;
}

/** The signed-in user ({user: {name, admin}, expires}), or {user: null} for a visitor who is
 *  not signed in (or whose session ended). */
export const me = () => call("GET", "/api/me");
export const login = (username, password) => call("POST", "/api/login", { username, password });
export const register = (username, password) => call("POST", "/api/register", { username, password });
// An empty JSON object: the server refuses a logout that is not JSON (a cross-site form could
// otherwise sign the user out).
export const logout = () => call("POST", "/api/logout", {});
// An imported account's claim token (its claim link, /claim#TOKEN) and the password chosen.
export const claim = (token, password) => call("POST", "/api/claim", { token, password });

// Invitations (server/admin_api.py). The token travels in the body, never in a URL the server
// would log.
/** {kind, rooms, expires, by} of a usable invitation; ApiError "invite_invalid" otherwise. */
export const checkInvite = (token) => call("POST", "/api/invites/check", { token });
/** Join the rooms of a room invitation as the signed-in user: {joined: [room names]}. */
export const acceptInvite = (token) => call("POST", "/api/invites/accept", { token });
export const registerWithInvite = (username, password, invite) =>
  call("POST", "/api/register", { username, password, invite });
