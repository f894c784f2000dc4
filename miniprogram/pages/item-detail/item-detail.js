const { request } = require('../../utils/request')
const {
  MATERIAL_FORM_LABELS,
  labelOf,
  stageLabel,
  workingDays,
  feesText,
} = require('../../utils/format')

/** Shape GET /api/v1/service-items/{id} for the template (no logic in WXML). */
function present(item) {
  const department = item.department || {}
  return {
    id: item.id,
    code: item.code || '',
    name: item.name,
    summary: item.summary || '',
    typeLabel: item.item_type || '',
    stageLabel: stageLabel(item.stage, item.stage_label),
    departmentName: department.name || department.short_name || '',
    implementingBody: item.implementing_body || department.name || '',
    statutoryText: workingDays(item.statutory_days),
    committedText: workingDays(item.committed_days),
    feesText: feesText(item.fees),
    online: !!item.online_available,
    onlineUrl: item.online_url || '',
    offlineLocation: item.offline_location || '',
    legalBasis: item.legal_basis || '',
    materials: (item.materials || []).map((m, i) => ({
      key: i,
      name: m.name,
      requiredLabel: m.required ? '必需' : '可选',
      required: !!m.required,
      formLabel: labelOf(MATERIAL_FORM_LABELS, m.form),
      countText: m.count ? `${m.count} 份` : '',
      notes: m.notes || '',
    })),
    steps: (item.steps || []).map((s, i) => ({
      key: i,
      number: i + 1,
      name: s.name,
      description: s.description || '',
    })),
    faq: (item.faq || []).map((f, i) => ({ key: i, q: f.q, a: f.a })),
  }
}

Page({
  data: {
    loading: true,
    error: '',
    // Not called "item": wx:for's default loop variable would shadow it.
    detail: null,
  },

  onLoad(query) {
    this.itemId = query && query.id
    return this.load()
  },

  async load() {
    if (!this.itemId) {
      this.setData({ loading: false, error: '没有指定要查看的事项' })
      return
    }
    this.setData({ loading: true, error: '' })
    try {
      const item = await request({ api: 'serviceItemDetail', params: { id: this.itemId } })
      this.setData({ loading: false, detail: present(item) })
      wx.setNavigationBarTitle({ title: item.name })
    } catch (err) {
      this.setData({ loading: false, error: err.message || '加载失败，请稍后重试' })
    }
  },

  onRetry() {
    return this.load()
  },

  onCopyOnlineUrl() {
    const url = this.data.detail && this.data.detail.onlineUrl
    if (!url) return
    // Mini-programs may only open web pages of their own registered domains,
    // so the portal link is copied for the person to open in a browser.
    wx.setClipboardData({
      data: url,
      success: () => wx.showToast({ title: '网办链接已复制，请在浏览器中打开', icon: 'none' }),
    })
  },

  onAsk() {
    if (!this.data.detail) return
    wx.navigateTo({ url: `/pages/consult-ask/consult-ask?service_item_id=${encodeURIComponent(this.data.detail.id)}` })
  },

  onFeedback() {
    if (!this.data.detail) return
    wx.navigateTo({ url: `/pages/feedback/feedback?service_item_id=${encodeURIComponent(this.data.detail.id)}` })
  },

  onShareAppMessage() {
    const item = this.data.detail
    return {
      title: item ? `${item.name}｜办事指南` : '小微企业服务专区',
      path: item ? `/pages/item-detail/item-detail?id=${item.id}` : '/pages/index/index',
    }
  },
})
