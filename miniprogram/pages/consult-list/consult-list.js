const { request } = require('../../utils/request')
const { pagedList } = require('../../utils/paging')
const { caseRow } = require('../../utils/consult')

// One server status group per tab (`state`: open = 办理中 incl. waiting for dispatch, reopened
// and waiting for the enterprise's supplement; answered = 已答复 or confirmed; finished).
const TABS = [
  { key: 'all', state: '', label: '全部' },
  { key: 'assigned', state: 'open', label: '办理中' },
  { key: 'answered', state: 'answered', label: '已答复' },
  { key: 'closed', state: 'finished', label: '已结束' },
]
const PAGE_SIZE = 20

// 我的咨询: the enterprise's cases (咨询、建议、投诉), newest first.
Page({
  data: {
    tabs: TABS,
    tab: 'all',
    items: [],
    page: 0,
    hasMore: false,
    loading: false,
    loaded: false,
    error: '',
    needEnterprise: false,
  },

  onLoad(query) {
    this.list = pagedList(this, {
      fetch: (page) => {
        const tab = TABS.find((t) => t.key === this.data.tab) || TABS[0]
        return request({ api: 'consultations', query: { state: tab.state, page, page_size: PAGE_SIZE } })
      },
      row: caseRow,
      pageSize: PAGE_SIZE,
      loaded: () => ({ needEnterprise: false }),
      // A visitor has no cases yet: guide them instead of showing an error.
      firstPageError: (err) => ({ needEnterprise: err.status === 403, error: err.status === 403 ? '' : err.message || '加载失败' }),
    })
    const tab = TABS.find((t) => t.key === (query && query.tab))
    if (tab) this.setData({ tab: tab.key })
  },

  // Every show refreshes: a case may have been answered or rated meanwhile.
  onShow() {
    return this.list.reload()
  },

  onPullDownRefresh() {
    return this.list.reload().then(() => wx.stopPullDownRefresh())
  },

  onReachBottom() {
    return this.list.more()
  },

  onTabTap(e) {
    const { key } = e.currentTarget.dataset
    if (key === this.data.tab || !TABS.some((t) => t.key === key)) return Promise.resolve()
    this.setData({ tab: key, items: [], page: 0, hasMore: false, loaded: false })
    return this.list.reload()
  },

  onRetry() {
    return this.list.reload()
  },

  onCaseTap(e) {
    const { id } = e.currentTarget.dataset
    wx.navigateTo({ url: `/pages/consult-detail/consult-detail?id=${encodeURIComponent(id)}` })
  },

  onAsk() {
    wx.navigateTo({ url: '/pages/consult-ask/consult-ask' })
  },

  onCertify() {
    wx.navigateTo({ url: '/pages/enterprise/enterprise' })
  },
})
