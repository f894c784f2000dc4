// Sample backend data in the shape of the API contract, and a fake backend
// that serves it through the wx mock.

const { jsonError } = require('./wx-mock')

// Computed here from GB 32100-2015 directly rather than with utils/validators,
// so a bug in the validator cannot also bless the test data.
function withCheckChar(first17) {
  const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY'
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
  const sum = first17.split('').reduce((acc, ch, i) => acc + alphabet.indexOf(ch) * weights[i], 0)
  return first17 + alphabet[(31 - (sum % 31)) % 31]
}

const VALID_CREDIT_CODE = withCheckChar('91350100M000100Y4')

const DEPARTMENTS = [
  { code: 'amr', name: '市市场监督管理局', short_name: '市场监管' },
  { code: 'hrss', name: '市人力资源和社会保障局', short_name: '人社' },
  { code: 'tax', name: '国家税务总局市税务局', short_name: '税务' },
]

const INDUSTRIES = [
  {
    code: '65',
    name: '软件和信息技术服务业',
    group_code: 'software',
    group_label: '软件和信息技术服务业',
    indicators: ['employees', 'revenue'],
  },
  {
    code: '47',
    name: '房屋建筑业',
    group_code: 'construction',
    group_label: '建筑业',
    indicators: ['revenue', 'assets'],
  },
  {
    code: '51',
    name: '批发业',
    group_code: 'wholesale',
    group_label: '批发业',
    indicators: ['employees', 'revenue'],
  },
]

function department(code) {
  return DEPARTMENTS.find((d) => d.code === code)
}

function listItem(overrides) {
  return {
    id: 1,
    code: 'SC-001',
    name: '营业执照核发（个体工商户）',
    item_type: '行政许可',
    department: department('amr'),
    stage: 'start',
    stage_label: '开办',
    statutory_days: 15,
    committed_days: 3,
    online_available: true,
    summary: '新开店铺、个体户办理营业执照',
    ...overrides,
  }
}

const CATALOGUE = [
  listItem({ id: 1 }),
  listItem({
    id: 2,
    code: 'RS-010',
    name: '单位参保登记',
    department: department('hrss'),
    stage: 'start',
    statutory_days: 10,
    committed_days: 1,
    online_available: false,
    summary: '新成立企业为员工办理社保',
  }),
  listItem({
    id: 3,
    code: 'SW-003',
    name: '注销税务登记',
    department: department('tax'),
    stage: 'close',
    stage_label: '注销',
    statutory_days: 20,
    committed_days: 5,
    online_available: true,
    summary: '企业注销前结清税款',
  }),
]

function detailOf(item) {
  return {
    ...item,
    implementing_body: '市市场监督管理局登记注册处',
    legal_basis: '《中华人民共和国市场主体登记管理条例》第三条',
    materials: [
      { name: '登记申请书', required: true, form: 'original', count: 1, notes: '经营者本人签字' },
      { name: '经营者身份证明', required: true, form: 'copy', count: 1, notes: '' },
      { name: '经营场所使用证明', required: false, form: 'electronic', count: 2, notes: '租房合同或房产证' },
    ],
    steps: [
      { name: '申请', description: '网上或窗口提交材料' },
      { name: '受理', description: '材料齐全当场受理' },
      { name: '发证', description: '审核通过后发放执照' },
    ],
    fees: '不收费',
    online_url: 'https://zwfw.example.gov.cn/item/1',
    offline_location: '市民中心二楼 A 区 12-15 号窗口',
    faq: [{ q: '可以委托他人办理吗？', a: '可以，需提供委托书和受托人身份证明。' }],
  }
}

const OWNER = { id: 7, kind: 'wechat', role: 'enterprise_owner', enterprise_id: 42, display_name: '微信用户' }
const VISITOR = { id: 7, kind: 'wechat', role: 'visitor', enterprise_id: null, display_name: '微信用户' }

function enterprise(overrides) {
  return {
    id: 42,
    credit_code: VALID_CREDIT_CODE,
    name: '福州小桥软件有限公司',
    industry_code: '65',
    industry_name: '软件和信息技术服务业',
    industry_group: 'software',
    region_code: '350102',
    employees: 8,
    revenue: 30,
    founded_on: '2019-05-20',
    contact_phone: '13812341234',
    size_class: 'micro',
    size: {
      label: '微型',
      group_label: '软件和信息技术服务业',
      rule_version: 'MIIT-2011-300',
      inputs: { employees: 8, revenue: 30 },
      basis: '从业人员8人、营业收入30万元，符合软件和信息技术服务业微型企业标准（从业人员10人以下或营业收入50万元以下）',
    },
    ...overrides,
  }
}

/**
 * Install a backend that answers login, /me, reference data and the catalogue.
 * Returns a small handle so tests can change the current user.
 */
function installBackend(wx, { user = VISITOR } = {}) {
  const state = { user, tokensIssued: 0 }
  wx.on('POST', '/api/v1/auth/wechat-login', (req) => {
    if (!req.data || !req.data.code) return jsonError(401, 'invalid_code', '微信登录凭证无效')
    state.tokensIssued += 1
    return { status: 200, body: { token: `token-${state.tokensIssued}`, user: state.user } }
  })
  wx.on('GET', '/api/v1/me', () => ({ status: 200, body: state.user }))
  wx.on('GET', '/api/v1/departments', { status: 200, body: { items: DEPARTMENTS } })
  wx.on('GET', '/api/v1/reference/industries', { status: 200, body: { items: INDUSTRIES } })
  wx.on('GET', '/api/v1/service-items', (req) => {
    const q = req.query.q || ''
    const page = Number(req.query.page || 1)
    const size = Number(req.query.page_size || 20)
    const matches = CATALOGUE.filter((item) => (!q || item.name.includes(q) || item.summary.includes(q))
      && (!req.query.department || item.department.code === req.query.department)
      && (!req.query.stage || item.stage === req.query.stage))
    return {
      status: 200,
      body: { items: matches.slice((page - 1) * size, page * size), total: matches.length, page, page_size: size },
    }
  })
  wx.on('GET', /^\/api\/v1\/service-items\/\d+$/, (req) => {
    const id = Number(req.path.split('/').pop())
    const item = CATALOGUE.find((i) => i.id === id)
    return item ? { status: 200, body: detailOf(item) } : jsonError(404, 'not_found', '事项不存在或已下线')
  })
  return state
}

// ---------------------------------------------------------------- 惠企政策

function policyListItem(overrides) {
  return {
    id: 11,
    title: '小微企业稳岗返还',
    doc_number: '深人社规〔2024〕3号',
    series_id: 11,
    version: 1,
    policy_type: 'subsidy',
    type_label: '奖补',
    department: department('hrss'),
    summary: '按上年度实际缴纳失业保险费的60%返还',
    effective_on: '2024-01-01',
    expires_on: '2025-12-31',
    tags: [],
    no_application: false,
    status: 'published',
    status_label: '已发布',
    published_at: '2024-01-02T01:30:00Z',
    ...overrides,
  }
}

const POLICIES = [
  policyListItem({ id: 11 }),
  policyListItem({
    id: 12,
    title: '小型微利企业所得税减免',
    doc_number: '财税〔2023〕12号',
    policy_type: 'reduction',
    type_label: '减免',
    department: department('tax'),
    summary: '应纳税所得额减按25%计入',
    expires_on: null,
    no_application: true,
  }),
  policyListItem({
    id: 13,
    title: '高新技术企业认定奖励',
    doc_number: '深科技创新规〔2024〕1号',
    policy_type: 'qualification',
    type_label: '资质',
    department: department('amr'),
    summary: '首次认定的高新技术企业一次性奖励',
  }),
]

const MATCHES = {
  11: {
    eligible: true,
    score: 86,
    reasons: ['企业规模为微型，符合“小型、微型”要求', '注册地为深圳市（4403），符合“深圳市（4403）”要求'],
    missing: [{ field: 'employees', message: '政策要求从业人员不超过100人，请在企业资料中填写从业人员数' }],
  },
  12: {
    eligible: true,
    score: 70,
    reasons: ['企业规模为微型，符合“小型、微型”要求'],
    missing: [],
  },
}

function policyDetailOf(policy, overrides) {
  return {
    ...policy,
    body: '一、适用对象\n本市参加失业保险的小微企业。\n\n二、返还标准\n按上年度实际缴纳失业保险费的60%返还。',
    application_guide: '登录人社网上办事大厅提交申请。\n审核通过后返还至企业对公账户。',
    service_items: [{ id: 2, code: 'RS-010', name: '单位参保登记' }],
    attachments: [{ name: '申请表.docx', url: 'https://hrss.example.gov.cn/files/apply.docx' }],
    tags: ['稳岗'],
    rules: { size_classes: ['small', 'micro'], regions: ['4403'] },
    conditions: ['企业规模：小型、微型', '适用地区：深圳市（4403）'],
    consented_at: null,
    match: MATCHES[policy.id] || null,
    ...overrides,
  }
}

function inboxMessage(overrides) {
  return {
    id: 501,
    campaign_id: 31,
    kind: 'policy',
    source_id: 11,
    title: '新政策：小微企业稳岗返还',
    summary: '您的企业可能符合申报条件',
    page: 'pages/policy-detail/policy-detail?id=11',
    critical: false,
    created_at: '2024-05-01T01:30:00Z',
    read_at: null,
    read: false,
    ...overrides,
  }
}

const MESSAGES = [
  inboxMessage({ id: 501 }),
  inboxMessage({
    id: 502,
    source_id: 12,
    title: '新政策：小型微利企业所得税减免',
    summary: '免申即享，请确认享受意愿',
    campaign_id: 30,
    page: 'pages/policy-detail/policy-detail?id=12',
    created_at: '2024-04-20T08:05:00Z',
    read_at: '2024-04-20T09:00:00Z',
    read: true,
  }),
]

/**
 * Policy routes on top of installBackend: the feed, browse, detail, consent,
 * subscriptions, inbox and preferences. The returned state records what the
 * server "knows" (consents, reads, saved preferences) for assertions.
 */
function installPolicyBackend(wx, { user = OWNER } = {}) {
  const state = installBackend(wx, { user })
  state.consented = new Set()
  state.read = new Set(MESSAGES.filter((m) => m.read_at).map((m) => m.id))
  state.preferences = { policy_types: ['subsidy'], departments: ['hrss'], mode: 'immediate', quiet_start: '21:00', quiet_end: '08:00' }
  state.credits = 2
  const subscriptionItems = () => [
    { template_id: 'sandbox-tpl-policy', purpose: 'policy', credits: state.credits, last_outcome: 'accept' },
    { template_id: 'sandbox-tpl-notice', purpose: 'notice', credits: 0, last_outcome: '' },
  ]

  wx.on('GET', '/api/v1/policies/recommended', () => {
    if (!state.user.enterprise_id) return jsonError(403, 'forbidden', '请先完成企业认证')
    const items = POLICIES.filter((p) => MATCHES[p.id]).map((p) => ({ ...p, match: MATCHES[p.id] }))
    return { status: 200, body: { items, total: items.length, page: 1, page_size: 20 } }
  })
  wx.on('GET', '/api/v1/policies', (req) => {
    const q = req.query.q || ''
    const page = Number(req.query.page || 1)
    const size = Number(req.query.page_size || 20)
    const matches = POLICIES.filter((p) => (!q || p.title.includes(q) || p.summary.includes(q))
      && (!req.query.policy_type || p.policy_type === req.query.policy_type)
      && (!req.query.department || p.department.code === req.query.department))
    return {
      status: 200,
      body: { items: matches.slice((page - 1) * size, page * size), total: matches.length, page, page_size: size },
    }
  })
  wx.on('GET', /^\/api\/v1\/policies\/\d+$/, (req) => {
    const id = Number(req.path.split('/').pop())
    const policy = POLICIES.find((p) => p.id === id)
    if (!policy) return jsonError(404, 'not_found', '政策不存在或已失效')
    return {
      status: 200,
      body: policyDetailOf(policy, { consented_at: state.consented.has(id) ? '2024-05-02T02:00:00Z' : null }),
    }
  })
  wx.on('POST', /^\/api\/v1\/policies\/\d+\/consent$/, (req) => {
    const id = Number(req.path.split('/')[4])
    const created = !state.consented.has(id)
    state.consented.add(id)
    return {
      status: 200,
      body: { policy_id: id, series_id: id, enterprise_id: 42, consented_at: '2024-05-02T02:00:00Z', created },
    }
  })
  wx.on('GET', '/api/v1/subscriptions', () => ({
    status: 200,
    body: { items: subscriptionItems() },
  }))
  wx.on('POST', '/api/v1/subscriptions/results', (req) => {
    state.credits += req.data.results.filter((r) => r.outcome === 'accept').length
    return { status: 200, body: { items: subscriptionItems() } }
  })
  wx.on('GET', '/api/v1/inbox', () => {
    const items = MESSAGES.map((m) => {
      const read = state.read.has(m.id)
      return { ...m, read, read_at: read ? m.read_at || '2024-05-02T00:00:00Z' : null }
    })
    const unread = items.filter((m) => !m.read_at).length
    return { status: 200, body: { items, total: items.length, page: 1, page_size: 20, unread } }
  })
  wx.on('POST', /^\/api\/v1\/inbox\/\d+\/read$/, (req) => {
    const id = Number(req.path.split('/')[4])
    const message = MESSAGES.find((m) => m.id === id)
    if (!message) return jsonError(404, 'not_found', '消息不存在')
    state.read.add(id)
    return { status: 200, body: { ...message, read: true, read_at: '2024-05-02T00:00:00Z' } }
  })
  wx.on('GET', '/api/v1/preferences', () => ({ status: 200, body: state.preferences }))
  wx.on('PUT', '/api/v1/preferences', (req) => {
    state.preferences = { ...req.data }
    return { status: 200, body: { ...state.preferences, updated_at: '2024-05-02T00:00:00Z' } }
  })
  return state
}

module.exports = {
  POLICIES,
  MATCHES,
  MESSAGES,
  policyListItem,
  policyDetailOf,
  inboxMessage,
  installPolicyBackend,
  withCheckChar,
  VALID_CREDIT_CODE,
  DEPARTMENTS,
  INDUSTRIES,
  CATALOGUE,
  OWNER,
  VISITOR,
  listItem,
  detailOf,
  enterprise,
  installBackend,
}
