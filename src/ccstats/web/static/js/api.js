// Calls to the public /v1 API. The API token lives in an HttpOnly cookie set by POST /v1/session:
// this script never sees it. Every request carries the dashboard's header, without which the
// server ignores the cookie (a page of another site cannot add it).

const CLIENT_HEADER = { "x-ccstats-client": "dashboard" };

/** An error answered by the API: its message, code and HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(response) {
  let code = "http_" + response.status;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch (_) {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

function url(absolute, query) {
  // Relative to the page: ccstats may be served under a root path behind a reverse proxy.
  const path = absolute.replace(/^\//, "");
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined) params.append(key, item === null ? "" : String(item));
    }
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(method, path, { query, body } = {}) {
  const headers = { ...CLIENT_HEADER };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, "network", error.message || String(error));
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** GET a JSON answer. */
export async function get(path, query) {
  return (await send("GET", path, { query })).json();
}

/** POST a JSON body, get a JSON answer. */
export async function post(path, body, query) {
  return (await send("POST", path, { body, query })).json();
}

/** DELETE, get a JSON answer. */
export async function del(path) {
  return (await send("DELETE", path)).json();
}

function filename(response, fallback) {
  const disposition = response.headers.get("content-disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  return match ? match[1] : fallback;
}

/** Download an export (GET, or POST with a JSON body) as a file named by the server. */
export async function download(method, path, { query, body } = {}) {
  const response = await send(method, path, { query, body });
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = filename(response, "export");
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
  return link.download;
}
