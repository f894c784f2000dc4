// Every backend operation the mini-program calls, written as OpenAPI path
// templates. Keeping them in one table lets tests/contract.test.js check the
// whole client against the server's OpenAPI document in one pass.
//
// auth: false   -> public catalogue data; we never make the user wait for a
//                  WeChat login just to browse.
// query / body  -> the parameter and field names we send, checked against the
//                  server's schema by the contract test so a rename on either
//                  side is caught before release.

const ENTERPRISE_FIELDS = [
  'credit_code',
  'name',
  'industry_code',
  'region_code',
  'employees',
  'revenue',
  'assets',
  'founded_on',
  'contact_phone',
]

const PREFERENCE_FIELDS = ['policy_types', 'departments', 'mode', 'quiet_start', 'quiet_end']

const API = {
  wechatLogin: { method: 'POST', path: '/api/v1/auth/wechat-login', auth: false, body: ['code'] },
  me: { method: 'GET', path: '/api/v1/me' },
  departments: { method: 'GET', path: '/api/v1/departments', auth: false },
  industries: { method: 'GET', path: '/api/v1/reference/industries', auth: false },
  serviceItems: {
    method: 'GET',
    path: '/api/v1/service-items',
    auth: false,
    query: ['q', 'department', 'stage', 'page', 'page_size'],
  },
  serviceItemDetail: { method: 'GET', path: '/api/v1/service-items/{id}', auth: false },
  createEnterprise: { method: 'POST', path: '/api/v1/enterprises', body: ENTERPRISE_FIELDS },
  enterpriseDetail: { method: 'GET', path: '/api/v1/enterprises/{id}' },
  updateEnterprise: { method: 'PUT', path: '/api/v1/enterprises/{id}', body: ENTERPRISE_FIELDS },
  joinEnterprise: { method: 'POST', path: '/api/v1/enterprises/join', body: ['code'] },
  // 企业资质 (高新技术企业, 专精特新…): eligibility facts the policy match uses.
  // The code table is public; reading is for the enterprise's people, saving for its owner.
  policyOptions: { method: 'GET', path: '/api/v1/reference/policy-options', auth: false },
  enterpriseTags: { method: 'GET', path: '/api/v1/enterprises/{id}/tags' },
  updateEnterpriseTags: { method: 'PUT', path: '/api/v1/enterprises/{id}/tags', body: ['tags'] },

  // 惠企政策精准推送. Everything here needs a login: the feed and a policy's
  // match are computed for the user's enterprise, and opening a policy from a
  // message records that the message was read.
  recommendedPolicies: { method: 'GET', path: '/api/v1/policies/recommended', query: ['page', 'page_size'] },
  policies: {
    method: 'GET',
    path: '/api/v1/policies',
    query: ['q', 'policy_type', 'department', 'page', 'page_size'],
  },
  // from=message|inbox tells the server the policy was opened from a push or
  // the message list, which it counts as a read receipt; delivery_id names the
  // push when the message link carries one.
  policyDetail: { method: 'GET', path: '/api/v1/policies/{id}', query: ['from', 'delivery_id'] },
  policyConsent: { method: 'POST', path: '/api/v1/policies/{id}/consent' },
  subscriptions: { method: 'GET', path: '/api/v1/subscriptions' },
  subscriptionResults: { method: 'POST', path: '/api/v1/subscriptions/results', body: ['results'] },
  inbox: { method: 'GET', path: '/api/v1/inbox', query: ['page'] },
  readInboxMessage: { method: 'POST', path: '/api/v1/inbox/{id}/read' },
  preferences: { method: 'GET', path: '/api/v1/preferences' },
  updatePreferences: { method: 'PUT', path: '/api/v1/preferences', body: PREFERENCE_FIELDS },

  // 咨询和意见建议. Creating sends an Idempotency-Key header (one per draft),
  // so a double tap or a retry after a timeout files one case, not two.
  consultationOptions: { method: 'GET', path: '/api/v1/reference/consultation-options', auth: false },
  createConsultation: {
    method: 'POST',
    path: '/api/v1/consultations',
    body: ['content', 'kind', 'service_item_id', 'policy_id', 'element', 'element_detail'],
  },
  consultations: { method: 'GET', path: '/api/v1/consultations', query: ['status', 'kind', 'page', 'page_size'] },
  consultationDetail: { method: 'GET', path: '/api/v1/consultations/{id}' },
  consultationMessage: { method: 'POST', path: '/api/v1/consultations/{id}/messages', body: ['body'] },
  resolveConsultation: { method: 'POST', path: '/api/v1/consultations/{id}/resolve', body: ['reason'] },
  reopenConsultation: { method: 'POST', path: '/api/v1/consultations/{id}/reopen', body: ['reason'] },
  withdrawConsultation: { method: 'POST', path: '/api/v1/consultations/{id}/withdraw', body: ['reason'] },
  rateConsultation: { method: 'PUT', path: '/api/v1/consultations/{id}/rating', body: ['score', 'comment'] },
}

/**
 * Fill an OpenAPI path template: buildPath('/a/{id}', {id: 7}) -> '/a/7'.
 * A missing parameter throws instead of producing '/a/undefined', which the
 * server would answer with a confusing 404.
 */
function buildPath(template, params) {
  const values = params || {}
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name) => {
    const value = values[name]
    if (value === undefined || value === null || value === '') {
      throw new Error(`missing path parameter "${name}" for ${template}`)
    }
    return encodeURIComponent(String(value))
  })
}

/**
 * Serialise a query object. Empty values are dropped so "全部" filters are
 * simply absent rather than sent as department= (which the server would treat
 * as a filter for an empty code).
 */
function buildQuery(query) {
  if (!query) return ''
  const parts = []
  Object.keys(query).forEach((key) => {
    const value = query[key]
    if (value === undefined || value === null || value === '') return
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
  })
  return parts.length ? `?${parts.join('&')}` : ''
}

module.exports = {
  API,
  ENTERPRISE_FIELDS,
  PREFERENCE_FIELDS,
  buildPath,
  buildQuery,
}
