// 企业资质: the eligibility facts (高新技术企业, 专精特新…) that policies may ask
// for. The list of qualifications is the server's code table, so a new one needs
// no release of the mini-program; the owner ticks what the enterprise holds.

const { request, showError } = require('../../utils/request')
const session = require('../../utils/session')

/** Chips with a `selected` flag, so the template needs no lookups. */
function chips(options, held) {
  return options.map((o) => ({ code: o.code, label: o.label, selected: held.indexOf(o.code) >= 0 }))
}

function heldText(tags) {
  const held = tags.filter((t) => t.selected).map((t) => t.label)
  return held.length ? `已选择：${held.join('、')}` : '暂未选择任何资质'
}

function codesOf(tags) {
  return (tags || []).map((t) => (t && typeof t === 'object' ? t.code : t)).filter(Boolean).map(String)
}

Page({
  data: {
    loading: true,
    loadError: '',
    // No enterprise yet: there is nothing to attach qualifications to.
    noEnterprise: false,
    tags: [],
    heldText: '',
    // Members read the list; only the owner (or a policy officer) may change it.
    readonly: false,
    saving: false,
    saveError: '',
  },

  onLoad(query) {
    this.enterpriseId = (query && query.id) || session.getEnterpriseId() || null
    const user = session.getUser()
    this.setData({ readonly: !!user && user.role === 'enterprise_member' })
    return this.load()
  },

  async load() {
    if (!this.enterpriseId) {
      this.setData({ loading: false, noEnterprise: true })
      return
    }
    this.setData({ loading: true, loadError: '' })
    try {
      // The code table and the enterprise's choice are shown together: both or nothing.
      const [options, current] = await Promise.all([
        request({ api: 'policyOptions' }),
        request({ api: 'enterpriseTags', params: { id: this.enterpriseId } }),
      ])
      this.show((options && options.enterprise_tags) || [], codesOf(current && current.tags))
      this.setData({ loading: false })
    } catch (err) {
      this.setData({ loading: false, loadError: err.message || '加载失败，请稍后重试' })
    }
  },

  show(options, held) {
    this.options = options
    const tags = chips(options, held)
    this.setData({ tags, heldText: heldText(tags) })
  },

  onRetry() {
    return this.load()
  },

  onTagTap(e) {
    if (this.data.readonly || this.data.saving) return
    const index = Number(e.currentTarget.dataset.index)
    const tag = this.data.tags[index]
    if (!tag) return
    this.setData({ [`tags[${index}].selected`]: !tag.selected, saveError: '' })
    this.setData({ heldText: heldText(this.data.tags) })
  },

  async onSave() {
    if (this.data.readonly || this.data.saving) return
    const tags = this.data.tags.filter((t) => t.selected).map((t) => t.code)
    this.setData({ saving: true, saveError: '' })
    try {
      const saved = await request({ api: 'updateEnterpriseTags', params: { id: this.enterpriseId }, data: { tags } })
      this.show(this.options || [], codesOf(saved && saved.tags))
      this.setData({ saving: false })
      wx.showToast({ title: '企业资质已保存', icon: 'success' })
    } catch (err) {
      if (err.name === 'ApiError') {
        // e.g. 未知的企业资质 after the code table changed: reload to see the current one.
        this.setData({ saving: false, saveError: err.message })
      } else {
        this.setData({ saving: false })
        showError(err)
      }
    }
  },

  onRegister() {
    wx.navigateTo({ url: '/pages/enterprise/enterprise' })
  },

  onDone() {
    wx.navigateBack()
  },
})
