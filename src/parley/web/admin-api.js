// The admin API (server/admin_api.py) for the /admin page: thin names over api.js's one way
// of calling the server, so errors arrive as ApiError with the server's code and message.

import { call } from "./api.js";

const query = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : "";
};

export const users = (q, after) => call("GET", `/api/admin/users${query({ q, after })}`);
export const setDisabled = (user, disabled) => call("POST", "/api/admin/users/disabled", { user, disabled });
export const resetPassword = (user, password) => call("POST", "/api/admin/users/password", { user, password });
export const setAdmin = (user, admin) => call("POST", "/api/admin/users/admin", { user, admin });
export const sessions = (user) => call("GET", `/api/admin/users/sessions${query({ user })}`);
export const endSession = (user, session) => call("POST", "/api/admin/users/sessions/end", { user, session });
export const rooms = (q, after) => call("GET", `/api/admin/rooms${query({ q, after })}`);
export const setArchived = (room, archived) => call("POST", "/api/admin/rooms/archived", { room, archived });
export const changeOwner = (room, user) => call("POST", "/api/admin/rooms/owner", { room, user });
export const deleteRoom = (room) => call("POST", "/api/admin/rooms/delete", { room });
export const settings = () => call("GET", "/api/admin/settings");
export const saveSettings = (changes) => call("POST", "/api/admin/settings", changes);
export const stats = () => call("GET", "/api/admin/stats");
export const invites = () => call("GET", "/api/admin/invites");
export const createInvite = (kind, rooms, expiresIn) =>
  call("POST", "/api/invites", { kind, rooms, expires_in: expiresIn });
export const revokeInvite = (id) => call("POST", "/api/admin/invites/revoke", { id });
