// The API client of the web UI: cookie-mode sessions (X-Auth-Mode: cookie), the CSRF header on state-changing
// requests, one silent refresh on 401, uploads with progress, and the event socket with reconnection.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `request failed (${status})`);
    this.status = status;
    this.code = problem && problem.code;
    this.problem = problem;
  }
}

function cookie(name) {
  const prefix = name + '=';
  for (const part of document.cookie.split(';')) {
    const item = part.trim();
    if (item.startsWith(prefix)) return decodeURIComponent(item.slice(prefix.length));
  }
  return '';
}

function headers(extra = {}) {
  const result = { 'X-Auth-Mode': 'cookie', ...extra };
  const csrf = cookie('seg_csrf');
  if (csrf) result['X-CSRF-Token'] = csrf;
  return result;
}

let refreshing = null;

/** Rotates the refresh cookie once (shared by concurrent callers); true when a new session is in place. */
export function refreshSession() {
  if (!refreshing) {
    refreshing = fetch('/api/v1/auth/refresh', { method: 'POST', headers: headers(), credentials: 'same-origin' })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => { setTimeout(() => { refreshing = null; }, 0); });
  }
  return refreshing;
}

async function parse(response) {
  const type = response.headers.get('Content-Type') || '';
  if (response.status === 204) return null;
  if (type.includes('json')) return response.json();
  return response.text();
}

/** Sends a JSON request; on 401 refreshes the session once and retries. */
export async function api(method, path, body, { retry = true } = {}) {
  const init = { method, credentials: 'same-origin', headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (response.status === 401 && retry && !path.startsWith('/api/v1/auth/login')) {
    if (await refreshSession()) return api(method, path, body, { retry: false });
  }
  const data = await parse(response);
  if (!response.ok) {
    const error = new ApiError(response.status, typeof data === 'object' ? data : null);
    error.retryAfter = Number(response.headers.get('Retry-After')) || 0;
    throw error;
  }
  return data;
}

/** Uploads one file to a project with progress callbacks; resolves with the upload answer. */
export function uploadFile(projectId, file, onProgress, retry = true) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/projects/${projectId}/images`);
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, { detail: 'network error' }));
    xhr.onload = async () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 401 && retry && (await refreshSession())) {
        uploadFile(projectId, file, onProgress, false).then(resolve, reject);
      } else if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
      } else {
        reject(new ApiError(xhr.status, data));
      }
    };
    const form = new FormData();
    form.append('files', file, file.name);
    xhr.send(form);
  });
}

/** The event socket: calls `onEvent` with every message; reconnects (after a refresh) when it closes. */
export class Events {
  constructor(onEvent, onState = () => {}) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.closed = false;
    this.delay = 500;
    this.open();
  }
  open() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onmessage = (m) => {
      let event;
      try { event = JSON.parse(m.data); } catch { return; }
      if (event.type === 'ready') { this.delay = 500; this.onState('ready'); }
      this.onEvent(event);
    };
    socket.onclose = async (e) => {
      this.onState('closed');
      if (this.closed) return;
      if (e.code === 4401) await refreshSession();
      setTimeout(() => { if (!this.closed) this.open(); }, this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }
  close() {
    this.closed = true;
    if (this.socket) this.socket.close(1000);
  }
}
