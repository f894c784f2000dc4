const { request, showError } = require('../../utils/request')
const { STAGES, serviceItemRow } = require('../../utils/format')

const PAGE_SIZE = 20

Page({
  data: {
    keyword: '',
    departments: [],
    department: '',
    stages: STAGES,
    stage: '',
    items: [],
    total: 0,
    page: 0,
    hasMore: false,
    loading: false,
    loaded: false,
    error: '',
  },

  onLoad() {
    // Each search gets a number; answers to superseded searches are dropped,
    // so tapping filters quickly never shows the results of an older filter.
    this.searchSeq = 0
    return Promise.all([this.loadDepartments(), this.search()])
  },

  onPullDownRefresh() {
    return Promise.all([this.loadDepartments(), this.search()]).then(() => wx.stopPullDownRefresh())
  },

  onReachBottom() {
    return this.loadMore()
  },

  onShareAppMessage() {
    return { title: '小微企业服务专区：办事指南一查就懂', path: '/pages/index/index' }
  },

  async loadDepartments() {
    try {
      const body = await request({ api: 'departments' })
      const departments = (body.items || []).map((d) => ({ code: d.code, label: d.short_name || d.name }))
      this.setData({ departments })
    } catch (err) {
      // The filter is a convenience: searching still works without it, and the
      // result list already reports a network problem if there is one.
    }
  },

  query(page) {
    return {
      q: this.data.keyword.trim(),
      department: this.data.department,
      stage: this.data.stage,
      page,
      page_size: PAGE_SIZE,
    }
  },

  async fetchPage(page) {
    this.searchSeq += 1
    const seq = this.searchSeq
    this.setData({ loading: true, error: page === 1 ? '' : this.data.error })
    try {
      const body = await request({ api: 'serviceItems', query: this.query(page) })
      if (seq !== this.searchSeq) return
      const rows = (body.items || []).map(serviceItemRow)
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
        // Keep what is already on screen; a toast is enough for a failed next page.
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

  onStageTap(e) {
    const stage = e.currentTarget.dataset.stage || ''
    if (stage === this.data.stage) return Promise.resolve()
    this.setData({ stage })
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

  onItemTap(e) {
    const { id } = e.currentTarget.dataset
    wx.navigateTo({ url: `/pages/item-detail/item-detail?id=${encodeURIComponent(id)}` })
  },
})
