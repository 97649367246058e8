// The console's only contact with the server: `/api/v1` with the bearer token. The token
// lives in sessionStorage (gone when the tab closes) and is sent in a header only, never in
// a URL — which is why the change feed is read with fetch() and not EventSource.

const TOKEN_KEY = "rxgate.token";
const SUB_KEY = "rxgate.sub";
const ROLE_KEY = "rxgate.role";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { token, sub: sessionStorage.getItem(SUB_KEY) || "", role: sessionStorage.getItem(ROLE_KEY) || "" } : null;
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(SUB_KEY);
  sessionStorage.removeItem(ROLE_KEY);
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status line
  }
  const e = body && body.error;
  return new ApiError(response.status, e?.code || "http_" + response.status, e?.message || response.statusText, e?.details);
}

/** POST /api/v1/auth/login; keeps the token for this tab. */
export async function login(username, password) {
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw await errorOf(response);
  const body = await response.json();
  sessionStorage.setItem(TOKEN_KEY, body.token);
  sessionStorage.setItem(SUB_KEY, body.sub || username);
  sessionStorage.setItem(ROLE_KEY, body.role || "");
  return body;
}

async function request(method, path, body, accept = "application/json") {
  const s = session();
  const headers = { Accept: accept };
  if (s) headers.Authorization = "Bearer " + s.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/api/v1" + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** A JSON call to `/api/v1` + `path` for the standalone pages; throws ApiError. */
export async function callJson(method, path, body) {
  return (await request(method, path, body)).json();
}

export const api = {
  queue: async () => (await request("GET", "/pharmacy/queue?limit=500")).json(),
  detail: async (rx) => (await request("GET", `/pharmacy/${rx}`)).json(),
  stats: async () => (await request("GET", "/pharmacy/stats")).json(),
  verify: async (rx) => (await request("POST", `/pharmacy/${rx}/verify`, {})).json(),
  approve: async (rx, decisions) => (await request("POST", `/pharmacy/${rx}/approve`, { line_decisions: decisions })).json(),
  dispense: async (rx, body) => (await request("POST", `/pharmacy/${rx}/dispense`, body)).json(),
  reverseDispense: async (rx, body) => (await request("POST", `/pharmacy/${rx}/reverse-dispense`, body)).json(),
  counselDone: async (rx, items) => (await request("POST", `/pharmacy/${rx}/counsel-done`, { items })).json(),
  close: async (rx) => (await request("POST", `/pharmacy/${rx}/close`, {})).json(),
  label: async (rx, body) => {
    const response = await request("POST", `/pharmacy/${rx}/print-label`, body, "application/pdf, text/plain");
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] || "label";
    return { blob: await response.blob(), name };
  },
};

/**
 * Follows `GET /api/v1/events` (server-sent events over fetch). Calls `onEvent(type, data)`
 * for each event and `onState(connected)` as the connection comes and goes; reconnects
 * with back-off and resumes from the last event id. Returns a function that stops it.
 */
export function follow(onEvent, onState) {
  let stopped = false;
  let lastId = null;
  let controller = null;
  let delay = 500;

  async function connect() {
    while (!stopped) {
      const s = session();
      if (!s) return;
      controller = new AbortController();
      try {
        const headers = { Accept: "text/event-stream", Authorization: "Bearer " + s.token };
        if (lastId !== null) headers["Last-Event-ID"] = lastId;
        const response = await fetch("/api/v1/events", { headers, signal: controller.signal });
        if (!response.ok) throw await errorOf(response);
        onState(true);
        delay = 500;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let type = "message";
            let data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) type = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
              else if (line.startsWith("id:")) lastId = line.slice(3).trim();
            }
            if (data) onEvent(type, JSON.parse(data));
          }
        }
      } catch (e) {
        if (stopped) return;
        if (e instanceof ApiError && e.status === 401) {
          onState(false, e);
          return;
        }
      }
      onState(false);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }
  connect();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
