// The REST API as every page calls it: the same /api/v1 routes and token as any client.
// The token is pasted once on the Settings page and kept in this browser's localStorage.

const TOKEN_KEY = "shipyard.token";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || "http_error";
    this.field = body && body.field;
  }
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token.trim());
  else localStorage.removeItem(TOKEN_KEY);
}

function headers(extra) {
  const h = { Accept: "application/json", ...extra };
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

// JSON from /api/v1<path>; an error answer raises ApiError with the server's message.
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }), signal };
  if (body !== undefined) init.body = JSON.stringify(body);
  const answer = await fetch(`/api/v1${path}`, init);
  if (answer.status === 204) return null;
  const text = await answer.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text.slice(0, 200) };
  }
  if (!answer.ok) {
    const error = new ApiError(answer.status, data);
    if (answer.status === 401) document.dispatchEvent(new CustomEvent("shipyard:unauthenticated", { detail: error }));
    throw error;
  }
  return data;
}

// The raw bytes of an API answer (artifacts), with the token.
export async function apiBlob(path) {
  const answer = await fetch(`/api/v1${path}`, { headers: headers() });
  if (!answer.ok) {
    let body = null;
    try { body = await answer.json(); } catch { /* not JSON */ }
    throw new ApiError(answer.status, body);
  }
  return answer.blob();
}

// A path segment, escaped.
export const seg = (value) => encodeURIComponent(String(value));
