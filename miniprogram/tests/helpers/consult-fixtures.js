// Consultation cases in the shape of ConsultationRead, and a fake backend that
// behaves like the real one where the pages depend on it: one case per
// Idempotency-Key, the status filter, paging, and the enterprise actions.

const jComponent = require('j-component')
const { jsonError } = require('./wx-mock')
const { installPolicyBackend, OWNER } = require('./fixtures')

// The simulated <button> drops its attributes; declaring them lets tests see
// whether a button is disabled or spinning, as the person would.
jComponent.register({
  id: 'button',
  tagName: 'wx-button',
  template: '<slot/>',
  properties: { disabled: { type: null, value: null }, loading: { type: null, value: null }, size: { type: null, value: null } },
})

const STATUS_LABELS = {
  new: '待派单',
  assigned: '办理中',
  answered: '已答复',
  awaiting_enterprise: '待企业补充',
  resolved: '已解决',
  closed: '已办结',
  reopened: '已重新打开',
  merged: '已合并',
  withdrawn: '已撤回',
}
const KIND_LABELS = { consultation: '咨询', suggestion: '建议', complaint: '投诉' }
const ELEMENT_LABELS = {
  materials: '申请材料',
  steps: '办理流程',
  time_limit: '办理时限',
  fees: '收费',
  online: '网上办理',
  other: '其他',
}
const RATING_LABELS = { 1: '非常不满意', 2: '不满意', 3: '基本满意', 4: '满意', 5: '非常满意' }

const OPTIONS = {
  kinds: KIND_LABELS,
  channels: { miniprogram: '小程序', phone: '电话', walk_in: '窗口', hotline_12345: '12345热线' },
  elements: ELEMENT_LABELS,
  statuses: STATUS_LABELS,
  max_chars: 2000,
  default_days: { consultation: 3, suggestion: 13, complaint: 13 },
}

const STAFF_ANSWER = {
  id: 901,
  author_role: 'staff',
  author_name: '咨询服务人员',
  body: '可以，登录政务服务网“个体户开业”即可全程网办。',
  internal: false,
  mine: false,
  created_at: '2024-05-07T09:30:00+08:00',
}

/** The server's status groups of the list tabs (workflow.STATE_GROUPS). */
const STATE_GROUPS = {
  open: ['new', 'assigned', 'reopened', 'awaiting_enterprise'],
  answered: ['answered', 'resolved'],
  finished: ['closed', 'merged', 'withdrawn'],
}

/** The enterprise-side actions the server offers in each status (views.viewer_actions). */
function actionsFor(status, rating) {
  const acts = {
    new: ['withdraw'],
    assigned: ['withdraw'],
    answered: ['follow_up', 'resolve', 'withdraw'],
    awaiting_enterprise: ['supplement', 'withdraw'],
    reopened: ['withdraw'],
    resolved: ['reopen'],
    closed: ['reopen'],
  }[status] || []
  const out = acts.slice()
  if (['closed', 'merged', 'withdrawn', 'resolved'].indexOf(status) < 0) out.push('message')
  if ((status === 'resolved' || status === 'closed') && (!rating || rating.changeable)) out.push('rate')
  return out.sort()
}

function consultation(overrides) {
  const status = (overrides && overrides.status) || 'assigned'
  const kind = (overrides && overrides.kind) || 'consultation'
  return {
    id: 301,
    kind,
    kind_label: KIND_LABELS[kind],
    channel: 'miniprogram',
    status,
    status_label: STATUS_LABELS[status],
    title: '个体户营业执照可以网上办理吗？需要带哪些材料？',
    topic: { code: 'license', name: '证照办理' },
    department: { code: 'amr', name: '市市场监督管理局' },
    service_item: { id: 1, name: '营业执照核发（个体工商户）' },
    accepted_at: '2024-05-06T10:00:00+08:00',
    due_at: '2024-05-09T23:59:59+08:00',
    overdue: false,
    time_left_seconds: 216000,
    moderation: 'pass',
    enterprise: null,
    assignee: null,
    content: '个体户营业执照可以网上办理吗？需要带哪些材料？',
    policy: null,
    element: null,
    element_label: '',
    element_detail: '',
    due_provisional: false,
    answered_at: null,
    resolved_at: null,
    closed_at: null,
    merged_into_id: null,
    messages: [],
    actions: actionsFor(status, null),
    rating: null,
    ...overrides,
  }
}

function summaryOf(c) {
  const keys = ['id', 'kind', 'kind_label', 'channel', 'status', 'status_label', 'title', 'topic', 'department',
    'service_item', 'accepted_at', 'due_at', 'overdue', 'time_left_seconds', 'moderation', 'enterprise', 'assignee']
  return keys.reduce((out, k) => ({ ...out, [k]: c[k] }), {})
}

/**
 * installConsultBackend(wx) → state with `cases` (id → case), `keys`
 * (Idempotency-Key → case id) and hooks to script the next create answer.
 */
function installConsultBackend(wx, { user = OWNER, cases = [] } = {}) {
  const state = installPolicyBackend(wx, { user })
  state.cases = new Map(cases.map((c) => [c.id, c]))
  state.keys = new Map()
  state.nextId = 401
  // Scripted answers for the next new submissions, in order: {response, store}.
  // store: false → nothing kept (422, 429); store: true → the case lands but the
  // response is lost or replaced (a timeout after the server committed).
  state.createAnswers = []

  const setStatus = (c, status) => {
    c.status = status
    c.status_label = STATUS_LABELS[status]
    c.actions = actionsFor(status, c.rating)
    return c
  }

  wx.on('GET', '/api/v1/reference/consultation-options', { status: 200, body: OPTIONS })

  wx.on('POST', '/api/v1/consultations', (req) => {
    if (!state.user.enterprise_id) {
      return state.user.role === 'visitor'
        ? jsonError(403, 'forbidden', '无权进行此操作')
        : jsonError(403, 'enterprise_required', '请先完善企业信息后再提交咨询')
    }
    const key = req.header['Idempotency-Key']
    const data = req.data || {}
    if (key && state.keys.has(key)) {
      const existing = state.cases.get(state.keys.get(key))
      if (existing.content !== data.content || existing.kind !== data.kind) {
        return jsonError(409, 'idempotency_key_reused', '同一个 Idempotency-Key 已用于另一条不同的内容，请换一个新的 Key')
      }
      return { status: 201, body: existing }
    }
    const scripted = state.createAnswers.shift()
    if (scripted && !scripted.store) return scripted.response
    const c = consultation({
      id: state.nextId,
      kind: data.kind || 'consultation',
      status: 'assigned',
      title: data.content.slice(0, 40),
      content: data.content,
      service_item: data.service_item_id ? { id: data.service_item_id, name: '营业执照核发（个体工商户）' } : null,
      policy: data.policy_id ? { id: data.policy_id, name: '小微企业稳岗返还' } : null,
      element: data.element || null,
      element_label: data.element ? ELEMENT_LABELS[data.element] : '',
      element_detail: data.element_detail || '',
      accepted_at: '2024-05-06T10:00:00+08:00',
      due_at: data.kind && data.kind !== 'consultation' ? '2024-05-23T23:59:59+08:00' : '2024-05-09T23:59:59+08:00',
      moderation: state.moderation || 'pass',
    })
    state.nextId += 1
    state.cases.set(c.id, c)
    if (key) state.keys.set(key, c.id)
    if (scripted) return scripted.response
    return { status: 201, body: c }
  })

  wx.on('GET', '/api/v1/consultations', (req) => {
    const page = Number(req.query.page || 1)
    const size = Number(req.query.page_size || 20)
    const all = Array.from(state.cases.values())
      .filter((c) => !req.query.status || c.status === req.query.status)
      .filter((c) => !req.query.state || STATE_GROUPS[req.query.state].indexOf(c.status) >= 0)
      .filter((c) => !req.query.kind || c.kind === req.query.kind)
      .sort((a, b) => b.id - a.id)
    if (!state.user.enterprise_id) return jsonError(403, 'forbidden', '无权进行此操作')
    return {
      status: 200,
      body: { items: all.slice((page - 1) * size, page * size).map(summaryOf), total: all.length, page, page_size: size },
    }
  })

  const caseOf = (req) => state.cases.get(Number(req.path.split('/')[4]))

  wx.on('GET', /^\/api\/v1\/consultations\/\d+$/, (req) => {
    const c = caseOf(req)
    return c ? { status: 200, body: c } : jsonError(404, 'not_found', '请求的内容不存在')
  })

  wx.on('POST', /^\/api\/v1\/consultations\/\d+\/messages$/, (req) => {
    const c = caseOf(req)
    if (!c) return jsonError(404, 'not_found', '请求的内容不存在')
    if (c.actions.indexOf('message') < 0) return jsonError(409, 'illegal_transition', '该事项已办结，如需继续沟通请重新打开或提交新的咨询')
    c.messages = c.messages.concat([{
      id: 950 + c.messages.length,
      author_role: state.user.role,
      author_name: '张三',
      body: req.data.body,
      internal: false,
      mine: true,
      created_at: '2024-05-07T10:00:00+08:00',
    }])
    const next = { answered: 'assigned', awaiting_enterprise: 'assigned' }[c.status]
    if (next) setStatus(c, next)
    return { status: 200, body: c }
  })

  const transitions = {
    resolve: { answered: 'resolved' },
    reopen: { resolved: 'reopened', closed: 'reopened' },
    withdraw: { new: 'withdrawn', assigned: 'withdrawn', answered: 'withdrawn', awaiting_enterprise: 'withdrawn', reopened: 'withdrawn' },
  }
  wx.on('POST', /^\/api\/v1\/consultations\/\d+\/(resolve|reopen|withdraw)$/, (req) => {
    const c = caseOf(req)
    if (!c) return jsonError(404, 'not_found', '请求的内容不存在')
    const action = req.path.split('/')[5]
    const to = transitions[action][c.status]
    if (!to) return jsonError(409, 'illegal_transition', `该事项当前状态为“${c.status_label}”，不能进行此操作`)
    state.lastReason = (req.data && req.data.reason) || ''
    return { status: 200, body: setStatus(c, to) }
  })

  wx.on('PUT', /^\/api\/v1\/consultations\/\d+\/rating$/, (req) => {
    const c = caseOf(req)
    if (!c) return jsonError(404, 'not_found', '请求的内容不存在')
    if (c.actions.indexOf('rate') < 0) return jsonError(409, 'illegal_transition', '该事项现在不能评价')
    const { score, comment } = req.data
    c.rating = {
      score,
      label: RATING_LABELS[score],
      comment: comment || '',
      created_at: '2024-05-08T10:00:00+08:00',
      changeable_until: '2024-05-15T10:00:00+08:00',
      changeable: true,
    }
    // Rating a resolved case closes it (services/consultations/quality.py).
    return { status: 200, body: setStatus(c, c.status === 'resolved' ? 'closed' : c.status) }
  })

  return state
}

module.exports = {
  OPTIONS,
  STATUS_LABELS,
  STAFF_ANSWER,
  actionsFor,
  consultation,
  installConsultBackend,
}
