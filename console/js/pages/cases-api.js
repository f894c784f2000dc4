// Every consultation route the workbench, the case page and 督办 call, in one table,
// plus what they share: the code tables of /reference/consultation-options, the
// time-left tag and the styles of the thread. The knowledge base, call-backs,
// rectifications and the supervision overview landed alongside these pages; their
// reads go through `optional()`, so a server without them shows "未开通", not an error.

import { api, ApiError } from '../api.js';

const BASE = '/api/v1/consultations';

export const casesApi = {
  list: (query) => api('GET', BASE, { query }),
  get: (id) => api('GET', `${BASE}/${id}`),
  claim: (id) => api('POST', `${BASE}/${id}/claim`),
  message: (id, body, internal) => api('POST', `${BASE}/${id}/messages`, { body: { body, internal: !!internal } }),
  requestInfo: (id, body) => api('POST', `${BASE}/${id}/request-info`, { body: { body } }),
  returnCase: (id, reason, departmentCode) =>
    api('POST', `${BASE}/${id}/return`, { body: departmentCode ? { reason, department_code: departmentCode } : { reason } }),
  close: (id) => api('POST', `${BASE}/${id}/close`, { body: {} }),
  assign: (id, assigneeId, reason) => api('POST', `${BASE}/${id}/assign`, { body: { assignee_id: assigneeId, reason: reason || '' } }),
  merge: (id, intoId, reason) => api('POST', `${BASE}/${id}/merge`, { body: { into_id: intoId, reason } }),
  classify: (id, body) => api('POST', `${BASE}/${id}/classification`, { body }),
  duplicates: (id) => api('GET', `${BASE}/${id}/duplicates`),
  // a double click at the phone must not record the call twice: one key per opened dialog
  offline: (body, key) => api('POST', `${BASE}/offline`, { body, headers: { 'Idempotency-Key': key } }),
  moderation: (query) => api('GET', '/api/v1/moderation/consultations', { query }),
  release: (id) => api('POST', `/api/v1/moderation/consultations/${id}/release`),
  rejectContent: (id, reason) => api('POST', `/api/v1/moderation/consultations/${id}/reject`, { body: { reason } }),
  topics: () => api('GET', '/api/v1/topics'),
  consultants: () => api('GET', '/api/v1/consultants'),
  departments: () => api('GET', '/api/v1/departments'),
  enterprises: (q) => api('GET', '/api/v1/enterprises', { query: { q, page: 1, page_size: 20 } }),
  serviceItems: (q) => api('GET', '/api/v1/service-items', { query: { q, page: 1, page_size: 20 } }),
  inbox: (query) => api('GET', '/api/v1/inbox', { query }),
  readNotice: (id) => api('POST', `/api/v1/inbox/${id}/read`),
  // Knowledge base (常用答复、常见问题).
  cannedAnswers: (query) => api('GET', '/api/v1/canned-answers', { query }),
  suggestedAnswers: (id) => api('GET', `${BASE}/${id}/suggested-answers`),
  publishFaq: (id, question, answer) => api('POST', `${BASE}/${id}/faq`, { body: { question, answer } }),
  // 回访、整改、督办总览.
  callbacks: (query) => api('GET', '/api/v1/callbacks', { query }),
  recordCallback: (id, body) => api('POST', `/api/v1/callbacks/${id}`, { body }),
  rectifications: (query) => api('GET', '/api/v1/rectifications', { query }),
  rectify: (id, step, body) => api('POST', `/api/v1/rectifications/${id}/${step}`, { body: body || {} }),
  overview: () => api('GET', '/api/v1/supervision/overview'),
};

/**
 * Run a read of a feature that may not be deployed. Resolves to {data} or
 * {missing: true} when the route does not exist (404/405 on a list); other errors throw.
 */
export async function optional(fn) {
  try {
    return { data: await fn(), missing: false };
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return { data: null, missing: true };
    throw e;
  }
}

/** A list answer in any of the shapes in use ({items}, {canned, faq}, a bare array). */
export function itemsOf(res) {
  if (!res) return [];
  if (Array.isArray(res)) return res;
  return res.items || [];
}

export function newKey() {
  const rnd = (window.crypto && window.crypto.randomUUID) ? window.crypto.randomUUID()
    : Date.now().toString(36) + Math.random().toString(36).slice(2);
  return 'console-' + rnd.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 48);
}

// ---------- code tables ----------

export const CASE_OPTIONS = Vue.reactive({ kinds: {}, channels: {}, elements: {}, statuses: {}, max_chars: 2000 });
let optionsLoad = null;

/** GET /reference/consultation-options once; a failure is forgotten so the next caller retries. */
export function loadCaseOptions() {
  if (!optionsLoad) {
    optionsLoad = api('GET', '/api/v1/reference/consultation-options', { noAuthRedirect: true }).then((o) => {
      Object.assign(CASE_OPTIONS, o);
      return o;
    }, (err) => {
      optionsLoad = null;
      throw err;
    });
  }
  return optionsLoad;
}

// Element Plus tag colours per status: a console matter, not the server's.
const STATUS_TAGS = {
  new: 'warning', assigned: 'primary', answered: 'success', awaiting_enterprise: 'warning', resolved: 'success',
  closed: 'info', reopened: 'danger', merged: 'info', withdrawn: 'info',
};
export function statusTag(status) {
  return STATUS_TAGS[status] || 'info';
}

// The deadline chases only these (services/consultations/workflow.py CHASED_STATUSES):
// once answered, the department has done what the deadline asked.
const CHASED = ['new', 'assigned', 'reopened'];

function span(seconds) {
  const hours = Math.floor(seconds / 3600);
  if (hours >= 48) return `${Math.floor(hours / 24)} 天 ${hours % 24} 小时`;
  if (hours >= 1) return `${hours} 小时`;
  return `${Math.max(1, Math.floor(seconds / 60))} 分钟`;
}

/**
 * The time-left tag: red once overdue ("已超期 N 小时"), orange when 75 % of the time has
 * gone (the server's reminder point) or less than a day is left, green otherwise. Cases
 * no longer chased show the deadline as met or missed, in grey.
 */
export function timeLeft(c) {
  const left = c.time_left_seconds;
  if (!CHASED.includes(c.status)) {
    return c.overdue ? { type: 'danger', text: '超期办理' } : { type: 'info', text: '期限内已处理' };
  }
  if (left < 0 || c.overdue) {
    const hours = Math.max(1, Math.ceil(-Math.min(left, 0) / 3600));
    return { type: 'danger', text: `已超期 ${hours} 小时` };
  }
  const total = (new Date(c.due_at) - new Date(c.accepted_at)) / 1000;
  const urgent = left < 86400 || (total > 0 && left / total <= 0.25);
  return { type: urgent ? 'warning' : 'success', text: `剩余 ${span(left)}` };
}

// The thread and timeline need a few styles of their own; app.css belongs to the shell.
const STYLE_ID = 'cases-style';
export function ensureStyles() {
  if (document.getElementById(STYLE_ID)) return;
  const el = document.createElement('style');
  el.id = STYLE_ID;
  el.textContent = `
.case-grid { display: grid; grid-template-columns: minmax(0, 1fr) 360px; gap: 16px; align-items: start; }
.case-content { white-space: pre-wrap; line-height: 1.8; font-size: 15px; }
.case-thread { display: flex; flex-direction: column; gap: 12px; }
.case-msg { border: 1px solid #e3e8ef; border-radius: 6px; padding: 10px 14px; background: #fff; }
.case-msg.from-enterprise { background: #f7f9fc; }
.case-msg.from-staff { border-left: 3px solid #1f6fb2; }
.case-msg.internal { background: #fff8e6; border: 1px dashed #e6a23c; border-left: 3px solid #e6a23c; }
.case-msg-head { display: flex; gap: 8px; align-items: center; color: #6b778c; font-size: 12px; margin-bottom: 6px; }
.case-msg-body { white-space: pre-wrap; line-height: 1.7; }
.case-reply { margin-top: 16px; }
.case-reply-bar { display: flex; gap: 8px; align-items: center; margin-top: 8px; flex-wrap: wrap; }
.case-meta .el-descriptions__label { width: 90px; }
.case-actions { display: flex; flex-wrap: wrap; gap: 8px; }
.case-actions .el-button + .el-button { margin-left: 0; }
.case-side .el-card { margin-bottom: 16px; }
.pick-item { border: 1px solid #e3e8ef; border-radius: 6px; padding: 8px 12px; margin-bottom: 8px; cursor: pointer; }
.pick-item:hover { border-color: #1f6fb2; background: #f4f8fd; }
.pick-title { font-weight: 600; margin-bottom: 4px; }
.pick-body { color: #4a5568; font-size: 13px; white-space: pre-wrap; max-height: 84px; overflow: hidden; }
.notice-list { margin: 0; padding: 0; list-style: none; }
.notice-list li { padding: 6px 0; border-bottom: 1px dashed #e3e8ef; font-size: 13px; }
.notice-list li:last-child { border-bottom: none; }
`;
  document.head.appendChild(el);
}
