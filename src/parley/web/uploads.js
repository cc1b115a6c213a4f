// Files over HTTP (docs/protocol.md, section 12): sending one (POST /api/uploads, answered
// with an upload id that a later `send`, or a profile's avatar, names) and the addresses the
// server serves them at. No DOM here.
//
// XMLHttpRequest, not fetch: only it reports how much of the body was sent (fetch's streamed
// request bodies need HTTP/2 and report nothing), and abort() cancels the request at once.
// The body is the file itself, streamed by the browser from disk, never read into the page.

/** The reasons an upload fails, in words for the person who chose the file. */
const REASONS = {
  too_large: "The file is too large",
  quota_exceeded: "This file would go over your storage quota: deleting messages with files frees room",
  unsupported_media_type: "The server did not accept this type of upload",
  bad_image: "This is not an image that can be used",
  bad_request: "The server refused the file",
  rate_limited: "Too many uploads at once: wait for one to finish",
  unavailable: "The server cannot store files right now",
  unauthorized: "You are signed out",
  network: "The connection to the server failed",
  aborted: "Cancelled",
};

/** What the server says about a file: `{id, name, type, size, width?, height?, thumb_width?,
 *  thumb_height?}` (a `FileInfo`). */

/** The types the server shows inline (it re-encodes them); every other file is a download. */
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

export const isImage = (file) => IMAGE_TYPES.has(file.type) && Boolean(file.thumb_width);

/** Where a file is served: its name is for the browser's "save as". */
export const fileUrl = (file) => `/files/${encodeURIComponent(file.id)}/${encodeURIComponent(file.name)}`;

export const thumbUrl = (file) => `/thumbs/${encodeURIComponent(file.id)}`;

export const avatarUrl = (id) => `/avatars/${encodeURIComponent(id)}`;

export class UploadError extends Error {
  /** @param {string} code the server's error code, "network" or "aborted" */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function failure(xhr) {
  let data = {};
  try {
    data = JSON.parse(xhr.responseText || "{}");
  } catch {
    data = {};
  }
  const code = typeof data.error === "string" ? data.error : xhr.status === 413 ? "too_large" : `http_${xhr.status}`;
  const detail = typeof data.message === "string" ? data.message.replace(/\.$/, "") : "";
  const reason = REASONS[code];
  // Ours says what went wrong in the user's terms; the server's sentence adds the detail
  // (the limit: "at most 25 MiB").
  const message = reason && detail ? `${reason} (${detail}).` : `${reason || detail || `The server answered ${xhr.status}`}.`;
  return new UploadError(code, message);
}

/**
 * Start sending `file` (a File or Blob) under `name`. Returns `{done, abort}`: `done` resolves
 * with the server's description of the upload (a FileInfo) or rejects with
 * an UploadError; `abort()` cancels (done rejects with code "aborted").
 * `onProgress(sent, total)` is called as the body goes out.
 */
export function upload(file, name, { onProgress, avatar = false } = {}) {
  const xhr = new XMLHttpRequest();
  const query = new URLSearchParams({ name });
  if (avatar) query.set("avatar", "1"); // an image, with a square thumbnail
  const done = new Promise((resolve, reject) => {
    xhr.open("POST", `/api/uploads?${query}`);
    xhr.withCredentials = true;
    // Always plain bytes: the server finds the type from the content, and a cross-site form
    // cannot send this type (the server refuses any other).
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (event) => {
      if (onProgress) onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText).upload);
        } catch {
          reject(new UploadError("bad_answer", "The server's answer could not be read."));
        }
      } else reject(failure(xhr));
    });
    xhr.addEventListener("error", () => reject(new UploadError("network", `${REASONS.network}.`)));
    xhr.addEventListener("abort", () => reject(new UploadError("aborted", `${REASONS.aborted}.`)));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
