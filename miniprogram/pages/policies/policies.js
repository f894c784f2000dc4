const { request } = require('../../utils/request')
const { pagedList, prefixedKeys, searchPage } = require('../../utils/paging')
const session = require('../../utils/session')
const { POLICY_TYPES, policyRow } = require('../../utils/format')
const { refreshUnreadBadge } = require('../../utils/badge')

const PAGE_SIZE = 20

Page({
  ...searchPage,

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
    // Two lists, each dropping answers to superseded requests (utils/paging).
    this.feedList = pagedList(this, {
      keys: prefixedKeys('feed'),
      fetch: (page) => request({ api: 'recommendedPolicies', query: { page, page_size: PAGE_SIZE } }),
      row: policyRow,
      pageSize: PAGE_SIZE,
      // An empty feed for someone without an enterprise is not "nothing fits":
      // there is nothing to match against yet.
      loaded: (body, feed) => ({ needEnterprise: !feed.length && !session.getEnterpriseId() }),
      // The feed is for enterprise users: a visitor is refused (403) and a user
      // whose enterprise is not certified yet gets 404 "请先完成企业认证".
      firstPageError: (err) => (err.status === 403 || err.status === 404
        ? { needEnterprise: true, feedError: '' }
        : { needEnterprise: false }),
    })
    this.list = pagedList(this, {
      fetch: (page) => request({ api: 'policies', query: this.query(page) }),
      row: policyRow,
      pageSize: PAGE_SIZE,
    })
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
    return this.feedList.reload()
  },

  loadMoreFeed() {
    return this.feedList.more()
  },

  onRetryFeed() {
    return this.loadFeed()
  },

  onCertify() {
    wx.navigateTo({ url: '/pages/enterprise/enterprise' })
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

  onTypeTap(e) {
    const policyType = e.currentTarget.dataset.type || ''
    if (policyType === this.data.policyType) return Promise.resolve()
    this.setData({ policyType })
    return this.search()
  },

  onPolicyTap(e) {
    const { id } = e.currentTarget.dataset
    wx.navigateTo({ url: `/pages/policy-detail/policy-detail?id=${encodeURIComponent(id)}` })
  },
})
