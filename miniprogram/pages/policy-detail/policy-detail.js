const { request, showError } = require('../../utils/request')
const session = require('../../utils/session')
const {
  beijingDateTime,
  expiresText,
  policyDepartment,
  policyTypeLabel,
  presentMatch,
} = require('../../utils/format')
const { subscribePolicyReminders } = require('../../utils/subscribe')

// Where a policy may have been opened from; anything else in the query is not
// a read receipt and is not forwarded.
const FROM_VALUES = ['message', 'inbox']

const ROUTE = 'pages/policy-detail/policy-detail'
// Scenes in which WeChat opens the mini-program from one of our pushes:
// 1014 (= 1107) subscribe message, 1043 official-account template message.
const PUSH_SCENES = [1014, 1107, 1043]

/**
 * Was this page opened by tapping a push for this policy? A push link that
 * lacks from=message still counts as a read, so the receipt does not depend
 * on how the server spelled the link. Path and id must both match: the entry
 * options stay the same while the person browses on to other policies.
 */
function openedFromPush(policyId) {
  if (typeof wx.getEnterOptionsSync !== 'function') return false
  try {
    const enter = wx.getEnterOptionsSync() || {}
    const path = String(enter.path || '').replace(/^\//, '')
    return PUSH_SCENES.indexOf(Number(enter.scene)) >= 0 && path === ROUTE
      && String((enter.query || {}).id) === String(policyId)
  } catch (err) {
    // Old clients: no entry options means no receipt, never a broken page.
    return false
  }
}

/** Split long text into paragraphs so the template stays free of logic. */
function paragraphs(text) {
  return String(text || '')
    .split(/\n+/)
    .map((line) => line.trim())
    .filter(Boolean)
}

/** Shape GET /api/v1/policies/{id} for the template. */
function present(policy) {
  const department = policyDepartment(policy)
  const match = presentMatch(policy.match)
  return {
    id: policy.id,
    title: policy.title,
    docNumber: policy.doc_number || '',
    typeLabel: policyTypeLabel(policy),
    departmentName: department.name || department.short_name || '',
    effectiveOn: policy.effective_on || '',
    expiresText: expiresText(policy.expires_on),
    publishedAt: beijingDateTime(policy.published_at).slice(0, 10),
    summary: policy.summary || '',
    body: paragraphs(policy.body),
    guide: paragraphs(policy.application_guide),
    tags: (policy.tags || []).map(String),
    noApplication: !!policy.no_application,
    // consented_at is set once this enterprise has confirmed (免申即享).
    consented: !!policy.consented_at,
    consentedAt: beijingDateTime(policy.consented_at),
    serviceItems: (policy.service_items || []).map((s) => ({ id: s.id, name: s.name, code: s.code || '' })),
    attachments: (policy.attachments || []).map((a, i) => ({ key: i, name: a.name || a.url, url: a.url || '' })),
    match,
    // A missing qualification is fixed on 企业资质, anything else on the enterprise form.
    missingTags: missingFields(policy.match).indexOf('tags') >= 0,
    missingProfile: missingFields(policy.match).some((f) => f !== 'tags'),
  }
}

function missingFields(match) {
  return ((match && match.missing) || []).map((m) => (m && typeof m === 'object' ? String(m.field || '') : ''))
}

Page({
  data: {
    loading: true,
    error: '',
    detail: null,
    consenting: false,
    // Why a confirmation was refused (e.g. 不符合适用条件), shown under the
    // button: it is too long for a toast and the person needs to read it.
    consentError: '',
    subscribing: false,
    // Members cannot change enterprise data; they are told whom to ask instead.
    canEditEnterprise: true,
  },

  onLoad(query) {
    this.policyId = query && query.id
    this.from = query && FROM_VALUES.indexOf(query.from) >= 0 ? query.from : ''
    if (!this.from && this.policyId && openedFromPush(this.policyId)) this.from = 'message'
    // A push link may name its delivery; only digits are a delivery id.
    this.deliveryId = this.from && /^\d+$/.test(String(query.delivery_id || '')) ? query.delivery_id : ''
    return this.load()
  },

  async load() {
    if (!this.policyId) {
      this.setData({ loading: false, error: '没有指定要查看的政策' })
      return
    }
    this.setData({ loading: true, error: '' })
    try {
      const query = { from: this.from, delivery_id: this.deliveryId }
      const policy = await request({ api: 'policyDetail', params: { id: this.policyId }, query })
      // One read receipt per opening: a pull-down refresh is not another read.
      this.from = ''
      this.deliveryId = ''
      const user = session.getUser()
      this.setData({
        loading: false,
        detail: present(policy),
        canEditEnterprise: !user || user.role !== 'enterprise_member',
      })
      wx.setNavigationBarTitle({ title: policy.title })
    } catch (err) {
      this.setData({ loading: false, error: err.message || '加载失败，请稍后重试' })
    }
  },

  onRetry() {
    return this.load()
  },

  onPullDownRefresh() {
    return this.load().then(() => wx.stopPullDownRefresh())
  },

  /** 免申即享: one tap tells the department the enterprise wants the benefit. */
  async onConsent() {
    const { detail, consenting } = this.data
    if (!detail || consenting || detail.consented) return
    this.setData({ consenting: true, consentError: '' })
    try {
      // Idempotent on the server: a repeated confirmation answers the first one's time.
      const answer = await request({ api: 'policyConsent', params: { id: detail.id } })
      this.setData({
        consenting: false,
        'detail.consented': true,
        'detail.consentedAt': beijingDateTime(answer && answer.consented_at),
      })
      wx.showToast({ title: '已确认，无需另行申报', icon: 'none' })
    } catch (err) {
      if (err.name === 'ApiError') {
        this.setData({ consenting: false, consentError: err.message })
      } else {
        this.setData({ consenting: false })
        showError(err)
      }
    }
  },

  // Not async, and nothing awaited before subscribePolicyReminders(): WeChat
  // shows the subscribe popup only while it is handling the tap.
  onSubscribe() {
    if (this.data.subscribing) return Promise.resolve()
    const pending = subscribePolicyReminders()
    this.setData({ subscribing: true })
    return pending.then(({ message }) => {
      this.setData({ subscribing: false })
      wx.showToast({ title: message, icon: 'none', duration: 2500 })
    })
  },

  onCompleteProfile() {
    const enterpriseId = session.getEnterpriseId()
    const url = enterpriseId
      ? `/pages/enterprise/enterprise?id=${encodeURIComponent(enterpriseId)}`
      : '/pages/enterprise/enterprise'
    wx.navigateTo({ url })
  },

  onCompleteTags() {
    const enterpriseId = session.getEnterpriseId()
    if (!enterpriseId) {
      wx.navigateTo({ url: '/pages/enterprise/enterprise' })
      return
    }
    // Back from 企业资质, the match is asked again so it reflects what was saved.
    this.reloadOnShow = true
    wx.navigateTo({ url: `/pages/enterprise-tags/enterprise-tags?id=${encodeURIComponent(enterpriseId)}` })
  },

  onShow() {
    if (!this.reloadOnShow) return undefined
    this.reloadOnShow = false
    return this.load()
  },

  onServiceItemTap(e) {
    const { id } = e.currentTarget.dataset
    wx.navigateTo({ url: `/pages/item-detail/item-detail?id=${encodeURIComponent(id)}` })
  },

  onAsk() {
    const { detail } = this.data
    if (!detail) return
    wx.navigateTo({ url: `/pages/consult-ask/consult-ask?policy_id=${encodeURIComponent(detail.id)}` })
  },

  onCopyAttachment(e) {
    const { url } = e.currentTarget.dataset
    if (!url) return
    // Only the mini-program's own registered domains can be opened in it, so
    // the file's address is copied for the person to open in a browser.
    wx.setClipboardData({
      data: url,
      success: () => wx.showToast({ title: '附件链接已复制，请在浏览器中打开', icon: 'none' }),
    })
  },

  onShareAppMessage() {
    const detail = this.data.detail
    return {
      title: detail ? detail.title : '惠企政策',
      // Never with from=: a shared link opened by someone else is not a read receipt.
      path: detail ? `/${ROUTE}?id=${detail.id}` : '/pages/policies/policies',
    }
  },
})
