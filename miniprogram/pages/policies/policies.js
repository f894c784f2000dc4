const { request, showError } = require('../../utils/request')
const session = require('../../utils/session')
const { POLICY_TYPES, policyRow } = require('../../utils/format')
const { refreshUnreadBadge } = require('../../utils/badge')

const PAGE_SIZE = 20

Page({
  data: {
    tab: 'recommended',

    // 为我推荐
    feed: [],
    feedTotal: 0,
    feedPage: 0,
    feedHasMore: false,
    feedLoading: false,
    feedLoaded: false,
    feedError: '',
    needEnterprise: false,

    // 全部政策
    keyword: '',
    types: POLICY_TYPES,
    policyType: '',
    departments: [],
    department: '',
    items: [],
    total: 0,
    page: 0,
    hasMore: false,
    loading: false,
    loaded: false,
    error: '',
  },

  onLoad() {
    // Numbered like the 首页 search: a slow answer to a superseded filter or
    // an older feed request is dropped instead of replacing a newer one.
    this.searchSeq = 0
    this.feedSeq = 0
  },

  // The feed is reloaded on every show: coming back from 完善企业信息 must show
  // the policies the new information qualifies for.
  onShow() {
    refreshUnreadBadge()
    return this.loadFeed()
  },

  onPullDownRefresh() {
    const reload = this.data.tab === 'recommended' ? this.loadFeed() : this.search()
    return reload.then(() => wx.stopPullDownRefresh())
  },

  onReachBottom() {
    return this.data.tab === 'all' ? this.loadMore() : this.loadMoreFeed()
  },

  onShareAppMessage() {
    return { title: '惠企政策：找到适合您企业的政策', path: '/pages/policies/policies' }
  },

  onTabTap(e) {
    const tab = e.currentTarget.dataset.tab
    if (tab === this.data.tab) return Promise.resolve()
    this.setData({ tab })
    // 全部政策 is fetched the first time it is opened; most people never leave 为我推荐.
    if (tab === 'all' && !this.data.loaded) return Promise.all([this.loadDepartments(), this.search()])
    return Promise.resolve()
  },

  loadFeed() {
    return this.fetchFeed(1)
  },

  loadMoreFeed() {
    if (this.data.feedLoading || !this.data.feedHasMore) return Promise.resolve()
    return this.fetchFeed(this.data.feedPage + 1)
  },

  async fetchFeed(page) {
    this.feedSeq += 1
    const seq = this.feedSeq
    this.setData({ feedLoading: true, feedError: page === 1 ? '' : this.data.feedError })
    try {
      const body = await request({ api: 'recommendedPolicies', query: { page, page_size: PAGE_SIZE } })
      if (seq !== this.feedSeq) return
      const rows = (body.items || []).map(policyRow)
      const feed = page === 1 ? rows : this.data.feed.concat(rows)
      const feedTotal = Number(body.total) || feed.length
      // An empty feed for someone without an enterprise is not "nothing fits":
      // there is nothing to match against yet.
      const noEnterprise = !feed.length && !session.getEnterpriseId()
      this.setData({
        feed,
        feedTotal,
        feedPage: page,
        feedHasMore: feed.length < feedTotal && rows.length > 0,
        feedLoading: false,
        feedLoaded: true,
        needEnterprise: noEnterprise,
      })
    } catch (err) {
      if (seq !== this.feedSeq) return
      // The feed is for enterprise users: a visitor is refused (403) and a user
      // whose enterprise is not certified yet gets 404 "请先完成企业认证".
      if (page === 1 && (err.status === 403 || err.status === 404)) {
        this.setData({ feed: [], feedTotal: 0, feedHasMore: false, feedLoading: false, feedLoaded: true, needEnterprise: true })
        return
      }
      if (page === 1) {
        this.setData({ feedLoading: false, feedLoaded: true, feed: [], feedHasMore: false, needEnterprise: false, feedError: err.message || '加载失败' })
      } else {
        // Keep what is already on screen; a toast is enough for a failed next page.
        this.setData({ feedLoading: false })
        showError(err)
      }
    }
  },

  onRetryFeed() {
    return this.loadFeed()
  },

  onCertify() {
    wx.navigateTo({ url: '/pages/enterprise/enterprise' })
  },

  async loadDepartments() {
    try {
      const body = await request({ api: 'departments' })
      const departments = (body.items || []).map((d) => ({ code: d.code, label: d.short_name || d.name }))
      this.setData({ departments })
    } catch (err) {
      // A convenience filter, as on 首页: searching works without it.
    }
  },

  query(page) {
    return {
      q: this.data.keyword.trim(),
      policy_type: this.data.policyType,
      department: this.data.department,
      page,
      page_size: PAGE_SIZE,
    }
  },

  async fetchPage(page) {
    this.searchSeq += 1
    const seq = this.searchSeq
    this.setData({ loading: true, error: page === 1 ? '' : this.data.error })
    try {
      const body = await request({ api: 'policies', query: this.query(page) })
      if (seq !== this.searchSeq) return
      const rows = (body.items || []).map(policyRow)
      const items = page === 1 ? rows : this.data.items.concat(rows)
      const total = Number(body.total) || 0
      this.setData({
        items,
        total,
        page,
        hasMore: items.length < total && rows.length > 0,
        loading: false,
        loaded: true,
      })
    } catch (err) {
      if (seq !== this.searchSeq) return
      if (page === 1) {
        this.setData({ loading: false, loaded: true, items: [], total: 0, hasMore: false, error: err.message || '加载失败' })
      } else {
        this.setData({ loading: false })
        showError(err)
      }
    }
  },

  search() {
    return this.fetchPage(1)
  },

  loadMore() {
    if (this.data.loading || !this.data.hasMore) return Promise.resolve()
    return this.fetchPage(this.data.page + 1)
  },

  onKeywordInput(e) {
    this.setData({ keyword: e.detail.value })
  },

  onSearch() {
    return this.search()
  },

  onClearKeyword() {
    this.setData({ keyword: '' })
    return this.search()
  },

  onTypeTap(e) {
    const policyType = e.currentTarget.dataset.type || ''
    if (policyType === this.data.policyType) return Promise.resolve()
    this.setData({ policyType })
    return this.search()
  },

  onDepartmentTap(e) {
    const code = e.currentTarget.dataset.code || ''
    // Tapping the selected department again clears the filter.
    this.setData({ department: code === this.data.department ? '' : code })
    return this.search()
  },

  onRetry() {
    return this.search()
  },

  onPolicyTap(e) {
    const { id } = e.currentTarget.dataset
    wx.navigateTo({ url: `/pages/policy-detail/policy-detail?id=${encodeURIComponent(id)}` })
  },
})
