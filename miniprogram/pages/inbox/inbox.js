const { request } = require('../../utils/request')
const { pagedList } = require('../../utils/paging')
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
    this.list = pagedList(this, {
      fetch: (page) => request({ api: 'inbox', query: { page } }),
      row: messageRow,
      loaded: (body) => {
        const unread = unreadOf(body)
        setUnreadBadge(unread)
        return { unread }
      },
    })
  },

  // Every show refreshes: a push may have arrived while the person was elsewhere.
  onShow() {
    return this.list.reload()
  },

  onPullDownRefresh() {
    return this.list.reload().then(() => wx.stopPullDownRefresh())
  },

  onReachBottom() {
    return this.list.more()
  },

  onRetry() {
    return this.list.reload()
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
