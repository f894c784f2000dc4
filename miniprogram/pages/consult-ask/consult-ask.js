const { request } = require('../../utils/request')
const session = require('../../utils/session')
const { subscribeCaseNotices } = require('../../utils/subscribe')
const {
  DEFAULT_MAX_CHARS,
  validateContent,
  loadOptions,
  submitDraft,
  draftHandlers,
} = require('../../utils/consult')

const NOUN = '您要咨询的问题'

/** An id from the page query: digits only, anything else is ignored. */
function idParam(value) {
  return /^\d+$/.test(String(value || '')) ? Number(value) : null
}

// 我要咨询: a question to the service zone, optionally about one 事项 or 政策.
Page(Object.assign({}, draftHandlers, {
  data: {
    content: '',
    count: 0,
    maxChars: DEFAULT_MAX_CHARS,
    days: 3,
    contentError: '',
    formError: '',
    submitting: false,
    needEnterprise: false,
    // Related 事项 (searched in the catalogue) and 政策 (only from a policy page).
    item: null,
    policy: null,
    itemQuery: '',
    itemResults: [],
    searching: false,
    searched: false,
    searchError: '',
  },

  onLoad(query) {
    const q = query || {}
    const user = session.getUser()
    this.setData({ needEnterprise: !!(user && !user.enterprise_id) })
    const itemId = idParam(q.service_item_id)
    const policyId = idParam(q.policy_id)
    // Names are fetched rather than passed in the link: a query string mangles long Chinese titles.
    return Promise.all([
      loadOptions().then((o) => this.setData({ maxChars: o.max_chars, days: (o.default_days || {}).consultation || 3 })),
      itemId && request({ api: 'serviceItemDetail', params: { id: itemId } })
        .then((i) => this.setData({ item: { id: i.id, name: i.name } }), () => {}),
      policyId && request({ api: 'policyDetail', params: { id: policyId } })
        .then((p) => this.setData({ policy: { id: p.id, name: p.title } }), () => {}),
    ])
  },

  onPickItem(e) {
    const { id } = e.currentTarget.dataset
    const picked = this.data.itemResults.find((i) => String(i.id) === String(id))
    if (!picked) return
    this.setData({ item: { id: picked.id, name: picked.name }, itemResults: [], searched: false, itemQuery: '' })
  },

  onClearItem() {
    this.setData({ item: null })
  },

  onClearPolicy() {
    this.setData({ policy: null })
  },

  onCertify() {
    wx.navigateTo({ url: '/pages/enterprise/enterprise' })
  },

  // Not async: the subscribe popup must be asked for while WeChat is still
  // handling the tap, before anything is awaited.
  onSubmit() {
    if (this.data.submitting) return Promise.resolve()
    const problem = validateContent(this.data.content, this.data.maxChars, NOUN)
    if (problem) {
      this.setData({ contentError: problem })
      return Promise.resolve()
    }
    if (!this.subscribeAsked) {
      this.subscribeAsked = true
      subscribeCaseNotices() // non-blocking: a refusal only means the answer waits in 我的咨询
    }
    const { content, item, policy } = this.data
    const body = { content: content.trim(), kind: 'consultation' }
    if (item) body.service_item_id = item.id
    if (policy) body.policy_id = policy.id
    return submitDraft(this, body)
  },
}))
