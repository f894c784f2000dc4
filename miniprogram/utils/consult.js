// 咨询和意见建议: the words, checks and submit flow shared by 我要咨询, 意见建议,
// 我的咨询 and 咨询详情, so the four pages speak the same language and file a
// case the same way.

const { request } = require('./request')
const { beijingDateTime } = require('./format')

// Mirrors ConsultationCreate on the server (content 5 characters or more); the
// upper limit comes from GET /reference/consultation-options.
const MIN_CHARS = 5
const DEFAULT_MAX_CHARS = 2000

// Fallbacks only: the server's option table is loaded and wins when it answers.
const KIND_LABELS = { consultation: '咨询', suggestion: '建议', complaint: '投诉' }
const ELEMENT_CODES = ['materials', 'steps', 'time_limit', 'fees', 'online', 'other']
const ELEMENT_LABELS = {
  materials: '申请材料',
  steps: '办理流程',
  time_limit: '办理时限',
  fees: '收费',
  online: '网上办理',
  other: '其他',
}
const RATING_LABELS = ['非常不满意', '不满意', '基本满意', '满意', '非常满意']
const ENTERPRISE_ROLES = ['enterprise_owner', 'enterprise_member']
// Statuses in which the department still owes an answer (the server's CHASED_STATUSES).
const AWAITING_ANSWER = ['new', 'assigned', 'reopened']

const DEFAULT_OPTIONS = {
  kinds: KIND_LABELS,
  elements: ELEMENT_LABELS,
  statuses: {},
  max_chars: DEFAULT_MAX_CHARS,
  default_days: { consultation: 3, suggestion: 13, complaint: 13 },
}

let optionsPromise = null

/**
 * The server's labels and limits, fetched once per app run. A failure falls
 * back to the built-in table (the server still enforces its own limits) and
 * is retried next time instead of being cached.
 */
function loadOptions() {
  if (!optionsPromise) {
    optionsPromise = request({ api: 'consultationOptions' }).then(
      (body) => ({ ...DEFAULT_OPTIONS, ...(body || {}) }),
      () => {
        optionsPromise = null
        return DEFAULT_OPTIONS
      }
    )
  }
  return optionsPromise
}

/** Characters as the server counts them: code points of the trimmed text. */
function charCount(text) {
  return Array.from(String(text || '').trim()).length
}

/** A Chinese message for a bad question or opinion, or null when it can be sent. */
function validateContent(text, maxChars, noun) {
  const count = charCount(text)
  if (!count) return `请填写${noun}`
  if (count < MIN_CHARS) return `${noun}至少 ${MIN_CHARS} 个字`
  if (count > maxChars) return `${noun}不能超过 ${maxChars} 个字（当前 ${count} 个字）`
  return null
}

/**
 * One key per draft, 8–64 of [A-Za-z0-9_.:-] as the server asks. Kept across
 * retries: if a timed-out submission did reach the server, the retry gets the
 * same case back instead of a second one.
 */
function newIdempotencyKey() {
  const random = Math.random().toString(36).slice(2, 12).padEnd(10, '0')
  return `mp-${Date.now().toString(36)}-${random}`
}

/** "5月8日" in Beijing time, whatever the phone's time zone. */
function monthDay(iso) {
  const text = beijingDateTime(iso)
  const match = /^\d{4}-(\d{2})-(\d{2})/.exec(text)
  return match ? `${Number(match[1])}月${Number(match[2])}日` : ''
}

/** "预计 5月8日 前答复", the promise people are given when a case is filed. */
function dueText(iso) {
  const day = monthDay(iso)
  return day ? `预计 ${day} 前答复` : ''
}

/** The deadline line of a case: 已超期 beats the date, and only owed answers are "预计". */
function deadlineOf(c) {
  if (c.overdue) return { text: '已超期', overdue: true }
  if (AWAITING_ANSWER.indexOf(c.status) >= 0) return { text: dueText(c.due_at), overdue: false }
  const day = monthDay(c.due_at)
  return { text: day ? `答复期限 ${day}` : '', overdue: false }
}

function kindLabel(c) {
  return c.kind_label || KIND_LABELS[c.kind] || ''
}

/** One row of GET /api/v1/consultations for the list template. */
function caseRow(c) {
  const deadline = deadlineOf(c)
  return {
    id: c.id,
    kindLabel: kindLabel(c),
    statusLabel: c.status_label || c.status,
    status: c.status,
    title: c.title || '',
    itemName: (c.service_item && c.service_item.name) || '',
    acceptedAt: beijingDateTime(c.accepted_at).slice(0, 10),
    deadlineText: deadline.text,
    overdue: deadline.overdue,
    held: c.moderation === 'held' || c.moderation === 'pending',
  }
}

function ratingView(rating) {
  if (!rating) return null
  const score = Number(rating.score) || 0
  return {
    score,
    label: rating.label || RATING_LABELS[score - 1] || '',
    comment: rating.comment || '',
    changeableUntil: monthDay(rating.changeable_until),
  }
}

const MODERATION_NOTES = {
  held: '内容正在审核，审核通过后将尽快为您办理',
  pending: '内容正在审核，审核通过后将尽快为您办理',
  rejected: '内容审核未通过，该事项已撤回',
}

/** What the enterprise can do now, as flags the template can test. */
function actionFlags(actions) {
  const has = (a) => (actions || []).indexOf(a) >= 0
  return {
    canMessage: has('message'),
    canResolve: has('resolve'),
    canReopen: has('reopen'),
    canWithdraw: has('withdraw'),
    canRate: has('rate'),
  }
}

/** GET /api/v1/consultations/{id} shaped for 咨询详情. */
function presentCase(c) {
  const deadline = deadlineOf(c)
  const item = c.service_item || null
  const thread = [{
    key: 'question',
    side: 'right',
    author: '我',
    body: c.content || c.title || '',
    time: beijingDateTime(c.accepted_at),
  }].concat((c.messages || []).filter((m) => !m.internal).map((m) => {
    const fromEnterprise = ENTERPRISE_ROLES.indexOf(m.author_role) >= 0
    return {
      key: `m${m.id}`,
      side: fromEnterprise ? 'right' : 'left',
      // Staff are never named to the enterprise; the server already says so.
      author: fromEnterprise ? (m.mine ? '我' : m.author_name || '企业同事') : '咨询服务人员',
      body: m.body,
      time: beijingDateTime(m.created_at),
    }
  }))
  return {
    id: c.id,
    kindLabel: kindLabel(c),
    statusLabel: c.status_label || c.status,
    status: c.status,
    title: c.title || '',
    itemName: item ? item.name : '',
    policyName: (c.policy && c.policy.name) || '',
    elementText: c.element ? [c.element_label || ELEMENT_LABELS[c.element], c.element_detail].filter(Boolean).join('：') : '',
    acceptedAt: beijingDateTime(c.accepted_at),
    deadlineText: deadline.text,
    overdue: deadline.overdue,
    moderationNote: MODERATION_NOTES[c.moderation] || '',
    thread,
    rating: ratingView(c.rating),
    replyHint: c.status === 'awaiting_enterprise'
      ? '工作人员请您补充材料或说明，补充后将继续办理'
      : (c.status === 'answered' ? '对答复还有疑问？可以继续追问' : ''),
    replyLabel: c.status === 'awaiting_enterprise' ? '补充' : (c.status === 'answered' ? '追问' : '发送'),
    ...actionFlags(c.actions),
  }
}

/**
 * File a draft (POST /api/v1/consultations) for 我要咨询 and 意见建议 alike.
 *
 * The page owns `page.draftKey` (the draft's Idempotency-Key, made on the first
 * try and reused on every retry) and the data fields submitting, contentError,
 * formError and needEnterprise. On success the page is replaced by the case's
 * 详情, so going back does not show the sent form again.
 */
function submitDraft(page, body) {
  if (!page.draftKey) page.draftKey = newIdempotencyKey()
  page.setData({ submitting: true, contentError: '', formError: '' })
  return request({ api: 'createConsultation', data: body, header: { 'Idempotency-Key': page.draftKey } }).then(
    (created) => {
      page.setData({ submitting: false })
      wx.redirectTo({ url: `/pages/consult-detail/consult-detail?id=${encodeURIComponent(created.id)}&created=1` })
      return created
    },
    (err) => {
      page.setData({ submitting: false })
      showSubmitError(page, err)
      return null
    }
  )
}

function showSubmitError(page, err) {
  const message = (err && err.message) || '提交失败，请稍后重试'
  if (err && err.status === 403) {
    // Not (yet) an enterprise's person: the form stays as typed for after 认证.
    const text = err.code === 'enterprise_required' ? message : '请先完成企业认证或加入企业后再提交'
    page.setData({ needEnterprise: true, formError: text })
    wx.showModal({
      title: '需要企业认证',
      content: text,
      confirmText: '去认证',
      success: (res) => {
        if (res && res.confirm) wx.navigateTo({ url: '/pages/enterprise/enterprise' })
      },
    })
    return
  }
  if (err && err.status === 409 && err.code === 'idempotency_key_reused') {
    // An earlier try of this draft did arrive and the text has been edited
    // since. Tell them it is filed; a new key lets them send the new text.
    page.draftKey = null
    page.setData({ formError: '您之前提交的内容已受理，请先到“我的咨询”查看；如确需再次提交，请再点一次提交' })
    return
  }
  if (err && err.status === 422) {
    const fields = typeof err.fieldErrors === 'function' ? err.fieldErrors() : {}
    if (fields.content) {
      // content_risky and friends: keep the text so it can be reworded.
      page.setData({ contentError: fields.content })
      return
    }
  }
  if (err && (err.code === 'timeout' || err.code === 'network_error')) {
    page.setData({ formError: `${message}。再次提交不会重复受理` })
    return
  }
  page.setData({ formError: message })
}

/** Catalogue search for the related-item picker (public, no login). */
function searchItems(q) {
  return request({ api: 'serviceItems', query: { q, page_size: 10 } }).then((body) => (body.items || []).map((i) => ({
    id: i.id,
    name: i.name,
    departmentName: (i.department && (i.department.short_name || i.department.name)) || '',
  })))
}

/**
 * The draft form's shared handlers (text with its counter, the related-item search),
 * mixed into the 我要咨询 and 意见建议 pages with Object.assign so both behave alike.
 */
const draftHandlers = {
  onContentInput(e) {
    const content = e.detail.value
    this.setData({ content, count: charCount(content), contentError: '', formError: '' })
  },

  onItemQueryInput(e) {
    this.setData({ itemQuery: e.detail.value, searchError: '' })
  },

  onSearchItems() {
    const q = this.data.itemQuery.trim()
    if (!q) {
      this.setData({ searchError: '请输入事项名称关键词' })
      return Promise.resolve()
    }
    this.setData({ searching: true, searchError: '' })
    return searchItems(q).then(
      (itemResults) => this.setData({ itemResults, searching: false, searched: true }),
      (err) => this.setData({ itemResults: [], searching: false, searched: false, searchError: err.message })
    )
  },
}

module.exports = {
  draftHandlers,
  MIN_CHARS,
  DEFAULT_MAX_CHARS,
  KIND_LABELS,
  ELEMENT_CODES,
  ELEMENT_LABELS,
  RATING_LABELS,
  loadOptions,
  charCount,
  validateContent,
  newIdempotencyKey,
  monthDay,
  dueText,
  deadlineOf,
  caseRow,
  presentCase,
  ratingView,
  submitDraft,
  searchItems,
}
