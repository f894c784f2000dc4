const { request } = require('../../utils/request')
const { pagedList, searchPage } = require('../../utils/paging')
const { STAGES, serviceItemRow } = require('../../utils/format')

const PAGE_SIZE = 20

Page({
  ...searchPage,

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
    // Answers to superseded searches are dropped (see utils/paging), so
    // tapping filters quickly never shows the results of an older filter.
    this.list = pagedList(this, {
      fetch: (page) => request({ api: 'serviceItems', query: this.query(page) }),
      row: serviceItemRow,
      pageSize: PAGE_SIZE,
    })
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

  query(page) {
    return {
      q: this.data.keyword.trim(),
      department: this.data.department,
      stage: this.data.stage,
      page,
      page_size: PAGE_SIZE,
    }
  },

  onStageTap(e) {
    const stage = e.currentTarget.dataset.stage || ''
    if (stage === this.data.stage) return Promise.resolve()
    this.setData({ stage })
    return this.search()
  },

  onItemTap(e) {
    const { id } = e.currentTarget.dataset
    wx.navigateTo({ url: `/pages/item-detail/item-detail?id=${encodeURIComponent(id)}` })
  },
})
