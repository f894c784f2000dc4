const { request, showError } = require('../../utils/request')
const { beijingDateTime } = require('../../utils/format')
const { unreadOf, setUnreadBadge } = require('../../utils/badge')

const POLICY_DETAIL = '/pages/policy-detail/policy-detail'

/**
 * Where tapping a message goes. A policy message opens the policy with
 * from=inbox (the server's read receipt); any other message carries the page
 * its push would open, which is followed as is.
 */
function targetOf(message) {
  const policyId = message.policy_id || (message.kind === 'policy' ? message.source_id : null)
  if (policyId) return `${POLICY_DETAIL}?id=${encodeURIComponent(policyId)}&from=inbox`
  const page = message.page ? String(message.page) : ''
  if (!page) return ''
  const path = page.charAt(0) === '/' ? page : `/${page}`
  // A push's page says from=message; opened here it was read in the inbox.
  return path.replace(/([?&])from=message\b/, '$1from=inbox')
}

function messageRow(m) {
  return {
    id: m.id,
    title: m.title || '',
    summary: m.summary || '',
    time: beijingDateTime(m.created_at),
    read: !!(m.read_at || m.read),
    target: targetOf(m),
  }
}

Page({
  data: {
    items: [],
    unread: 0,
    page: 0,
    hasMore: false,
    loading: false,
    loaded: false,
    error: '',
  },

  onLoad() {
    this.loadSeq = 0
  },

  // Every show refreshes: a push may have arrived while the person was elsewhere.
  onShow() {
    return this.fetchPage(1)
  },

  onPullDownRefresh() {
    return this.fetchPage(1).then(() => wx.stopPullDownRefresh())
  },

  onReachBottom() {
    if (this.data.loading || !this.data.hasMore) return Promise.resolve()
    return this.fetchPage(this.data.page + 1)
  },

  async fetchPage(page) {
    this.loadSeq += 1
    const seq = this.loadSeq
    this.setData({ loading: true, error: page === 1 ? '' : this.data.error })
    try {
      const body = await request({ api: 'inbox', query: { page } })
      if (seq !== this.loadSeq) return
      const rows = (body.items || []).map(messageRow)
      const items = page === 1 ? rows : this.data.items.concat(rows)
      const total = Number(body.total)
      const unread = unreadOf(body)
      this.setData({
        items,
        unread,
        page,
        // Without a total, a short page is the last one.
        hasMore: rows.length > 0 && (Number.isFinite(total) ? items.length < total : rows.length >= Number(body.page_size || 20)),
        loading: false,
        loaded: true,
      })
      setUnreadBadge(unread)
    } catch (err) {
      if (seq !== this.loadSeq) return
      if (page === 1) {
        this.setData({ loading: false, loaded: true, items: [], hasMore: false, error: err.message || '加载失败' })
      } else {
        this.setData({ loading: false })
        showError(err)
      }
    }
  },

  onRetry() {
    return this.fetchPage(1)
  },

  onMessageTap(e) {
    const { id } = e.currentTarget.dataset
    const index = this.data.items.findIndex((m) => String(m.id) === String(id))
    if (index < 0) return Promise.resolve()
    const message = this.data.items[index]
    let marking = Promise.resolve()
    if (!message.read) {
      // Shown as read at once; the person should not wait for the server to
      // see the dot go away, and a failed receipt is retried by the next open.
      const unread = Math.max(0, this.data.unread - 1)
      this.setData({ [`items[${index}].read`]: true, unread })
      setUnreadBadge(unread)
      marking = request({ api: 'readInboxMessage', params: { id: message.id } }).catch(() => {})
    }
    if (message.target) wx.navigateTo({ url: message.target })
    return marking
  },
})
