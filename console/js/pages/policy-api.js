// Every policy route the console calls, in one table: the backend's policy feature
// landed alongside this page, and keeping the paths together makes a renamed route
// one edit instead of a hunt through four components.

import { api } from '../api.js';

const BASE = '/api/v1/policies';

export const policyApi = {
  list: (query) => api('GET', BASE, { query }),
  get: (id) => api('GET', `${BASE}/${id}`),
  create: (body) => api('POST', BASE, { body }),
  update: (id, body) => api('PUT', `${BASE}/${id}`, { body }),
  preview: (rules) => api('POST', `${BASE}/match-preview`, { body: { rules } }),
  submit: (id) => api('POST', `${BASE}/${id}/submit`),
  approve: (id) => api('POST', `${BASE}/${id}/approve`),
  reject: (id, comment) => api('POST', `${BASE}/${id}/reject`, { body: { comment } }),
  withdraw: (id, reason) => api('POST', `${BASE}/${id}/withdraw`, { body: { reason } }),
  // Versions come with the staff read of a policy (PolicyRead.versions); this makes one.
  newVersion: (id) => api('POST', `${BASE}/${id}/versions`),
  consents: (id, query) => api('GET', `${BASE}/${id}/consents`, { query }),
  campaign: (id) => api('GET', `${BASE}/${id}/campaign`),
};
