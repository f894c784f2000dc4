// The one way the console talks to the backend: fetch with the Bearer token,
// JSON in and out, and every failure turned into an ApiError carrying the
// server's Chinese message, so pages only ever decide how to show it.

const TOKEN_KEY = 'sz.console.token';
const USER_KEY = 'sz.console.user';
// Mirrors the backend's staff_idle_minutes. The server slides a staff session on
// every API call, so the console counts idleness the same way (time since the last
// successful call) and leaves an unattended screen before it shows stale data.
export const IDLE_LIMIT_MS = 30 * 60 * 1000;

function readStored(key) {
  // sessionStorage, not localStorage: closing the tab should end the console
  // session on shared government workstations.
  try {
    return window.sessionStorage.getItem(key);
  } catch (e) {
    return null;
  }
}

function parseUser(raw) {
  try {
    return raw ? JSON.parse(raw) : null;
  } catch (e) {
    return null;
  }
}

export const session = Vue.reactive({
  token: readStored(TOKEN_KEY),
  user: parseUser(readStored(USER_KEY)),
  lastActivity: Date.now(),
});

export function setSession(token, user) {
  session.token = token;
  session.user = user;
  session.lastActivity = Date.now();
  try {
    window.sessionStorage.setItem(TOKEN_KEY, token);
    window.sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  } catch (e) {
    // Private mode without storage: the session still works until reload.
  }
}

export function clearSession() {
  session.token = null;
  session.user = null;
  try {
    window.sessionStorage.removeItem(TOKEN_KEY);
    window.sessionStorage.removeItem(USER_KEY);
  } catch (e) {
    /* nothing stored */
  }
}

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || defaultMessage(status));
    this.status = status;
    this.code = (error && error.code) || 'http_error';
    // Field errors come as [{field, message}]; anything else is not per-field.
    this.details = Array.isArray(error && error.details) ? error.details : [];
    this.requestId = (error && error.request_id) || '';
  }
}

function defaultMessage(status) {
  if (status === 0) return '无法连接服务器，请检查网络后重试';
  if (status === 401) return '登录已过期，请重新登录';
  if (status === 403) return '无权进行此操作';
  if (status === 404) return '请求的内容不存在';
  if (status >= 500) return '服务器开小差了，请稍后再试';
  return '请求失败（' + status + '）';
}

// Set by the app shell: what to do when the server says the session is gone.
let unauthorizedHandler = null;
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

function buildUrl(path, query) {
  const url = new URL(path, window.location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      // Empty filters are left out rather than sent as "", which the API would
      // treat as a real (and empty) filter value.
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
  }
  return url.pathname + url.search;
}

/**
 * Call the API. Options: query (object), body (JSON), form (FormData), blob (true to
 * get a Blob back with its filename), headers (extra request headers, e.g. an
 * Idempotency-Key). Resolves with parsed JSON (null for 204).
 */
export async function api(method, path, options = {}) {
  const headers = { ...(options.headers || {}), Accept: options.blob ? '*/*' : 'application/json' };
  if (session.token) headers.Authorization = 'Bearer ' + session.token;
  let body;
  if (options.form) {
    body = options.form; // the browser sets the multipart boundary itself
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let resp;
  try {
    resp = await fetch(buildUrl(path, options.query), { method, headers, body });
  } catch (e) {
    throw new ApiError(0, null);
  }
  if (!resp.ok) {
    let error = null;
    try {
      error = (await resp.json()).error;
    } catch (e) {
      /* not JSON: fall back to a message for the status */
    }
    const err = new ApiError(resp.status, error);
    // A failed login is also a 401 but is not an expired session.
    if (resp.status === 401 && !options.noAuthRedirect && unauthorizedHandler) {
      unauthorizedHandler(err);
    }
    throw err;
  }
  if (session.token) session.lastActivity = Date.now();
  if (options.blob) {
    return { blob: await resp.blob(), filename: filenameFrom(resp.headers.get('Content-Disposition')) };
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

function filenameFrom(disposition) {
  if (!disposition) return '';
  // Prefer RFC 5987 filename*=UTF-8''... because it carries the Chinese name.
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch (e) {
      /* malformed: try the plain name */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1] : '';
}

/** Hand a Blob to the browser as a download. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke later: revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Show an error to the user as a toast with the server's message. */
export function toastError(err) {
  // 401s are already handled by going back to the login page with a message.
  if (err instanceof ApiError && err.status === 401) return;
  // Anything that is not an API answer is a console bug: keep its stack for the
  // developer tools (and the browser tests, which fail on console errors).
  if (!(err instanceof ApiError)) console.error(err);
  ElementPlus.ElMessage({ type: 'error', message: err.message || '操作失败', showClose: true, duration: 5000 });
}

/** Fetch every page of a paginated list (the API caps page_size). */
export async function fetchAllPages(path, query = {}, pageSize = 50, maxPages = 200) {
  const first = await api('GET', path, { query: { ...query, page: 1, page_size: pageSize } });
  const pages = Math.min(Math.ceil(first.total / pageSize), maxPages);
  const rest = [];
  for (let p = 2; p <= pages; p++) {
    rest.push(api('GET', path, { query: { ...query, page: p, page_size: pageSize } }));
  }
  const others = await Promise.all(rest);
  return { items: first.items.concat(...others.map((r) => r.items)), total: first.total };
}

/**
 * The page and page size of one table with an el-pagination under it. A new
 * page size starts again at page 1 (the old page may no longer exist); `first()`
 * is for a new search or filter. `reload` is called after every change.
 */
export function usePager(reload, size = 20) {
  const page = Vue.ref(1);
  const pageSize = Vue.ref(size);
  return {
    page,
    pageSize,
    onPage(p) {
      page.value = p;
      reload();
    },
    onSize(s) {
      pageSize.value = s;
      page.value = 1;
      reload();
    },
    first() {
      page.value = 1;
      reload();
    },
  };
}
