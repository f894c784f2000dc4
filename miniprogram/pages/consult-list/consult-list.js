const { request, showError } = require('../../utils/request')
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
    this.loadSeq = 0
    const tab = TABS.find((t) => t.key === (query && query.tab))
    if (tab) this.setData({ tab: tab.key })
  },

  // Every show refreshes: a case may have been answered or rated meanwhile.
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

  onTabTap(e) {
    const { key } = e.currentTarget.dataset
    if (key === this.data.tab || !TABS.some((t) => t.key === key)) return Promise.resolve()
    this.setData({ tab: key, items: [], page: 0, hasMore: false, loaded: false })
    return this.fetchPage(1)
  },

  async fetchPage(page) {
    this.loadSeq += 1
    const seq = this.loadSeq
    const tab = TABS.find((t) => t.key === this.data.tab) || TABS[0]
    this.setData({ loading: true, error: page === 1 ? '' : this.data.error })
    try {
      const body = await request({ api: 'consultations', query: { state: tab.state, page, page_size: PAGE_SIZE } })
      // A tab switched or a refresh started meanwhile: this answer is stale.
      if (seq !== this.loadSeq) return
      const rows = (body.items || []).map(caseRow)
      const items = page === 1 ? rows : this.data.items.concat(rows)
      const total = Number(body.total)
      this.setData({
        items,
        page,
        hasMore: rows.length > 0 && (Number.isFinite(total) ? items.length < total : rows.length >= PAGE_SIZE),
        loading: false,
        loaded: true,
        needEnterprise: false,
      })
    } catch (err) {
      if (seq !== this.loadSeq) return
      if (page === 1) {
        this.setData({
          loading: false,
          loaded: true,
          items: [],
          hasMore: false,
          // A visitor has no cases yet: guide them instead of showing an error.
          needEnterprise: err.status === 403,
          error: err.status === 403 ? '' : err.message || '加载失败',
        })
      } else {
        this.setData({ loading: false })
        showError(err)
      }
    }
  },

  onRetry() {
    return this.fetchPage(1)
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
