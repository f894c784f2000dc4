const { request, showError } = require('../../utils/request')
const config = require('../../config')
const { POLICY_TYPES } = require('../../utils/format')
const { subscribePolicyReminders } = require('../../utils/subscribe')

// The server's defaults when a user has never saved preferences.
const DEFAULTS = { policy_types: [], departments: [], mode: 'immediate', quiet_start: '21:00', quiet_end: '08:00' }

const MODES = [
  { value: 'immediate', label: '即时推送', hint: '新政策发布后立即提醒' },
  { value: 'digest', label: '每日汇总', hint: '每天汇总一次，减少打扰' },
]

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/

/** Chips with a `selected` flag, so the template needs no lookups. */
function chips(options, selected) {
  return options.map((o) => ({ ...o, selected: selected.indexOf(o.value) >= 0 }))
}

function selectedOf(list) {
  return list.filter((o) => o.selected).map((o) => o.value)
}

/**
 * Credits left for policy pushes in GET /api/v1/subscriptions. Found by the
 * server's purpose first, so a template id configured differently here still
 * shows the server's count.
 */
function policyCredits(body) {
  const items = (body && body.items) || []
  const row = items.find((s) => s.purpose === 'policy') || items.find((s) => s.template_id === config.policyTemplateId)
  return row ? Number(row.credits) || 0 : 0
}

Page({
  data: {
    loading: true,
    loadError: '',
    types: chips(POLICY_TYPES.filter((t) => t.value), []),
    departments: [],
    modes: MODES,
    mode: DEFAULTS.mode,
    quietStart: DEFAULTS.quiet_start,
    quietEnd: DEFAULTS.quiet_end,
    saving: false,
    credits: null,
    subscribing: false,
  },

  onLoad() {
    return this.load()
  },

  async load() {
    this.setData({ loading: true, loadError: '' })
    let prefs
    let departments = []
    try {
      // Departments are needed to show the saved choice; both or nothing.
      const [saved, depts] = await Promise.all([
        request({ api: 'preferences' }),
        request({ api: 'departments' }),
      ])
      prefs = { ...DEFAULTS, ...(saved || {}) }
      departments = (depts.items || []).map((d) => ({ value: d.code, label: d.short_name || d.name }))
    } catch (err) {
      this.setData({ loading: false, loadError: err.message || '加载失败' })
      return
    }
    this.setData({
      loading: false,
      types: chips(POLICY_TYPES.filter((t) => t.value), prefs.policy_types || []),
      departments: chips(departments, prefs.departments || []),
      mode: prefs.mode === 'digest' ? 'digest' : 'immediate',
      quietStart: TIME.test(prefs.quiet_start) ? prefs.quiet_start : DEFAULTS.quiet_start,
      quietEnd: TIME.test(prefs.quiet_end) ? prefs.quiet_end : DEFAULTS.quiet_end,
    })
    return this.loadCredits()
  },

  async loadCredits() {
    try {
      this.setData({ credits: policyCredits(await request({ api: 'subscriptions' })) })
    } catch (err) {
      // Only informative; the subscribe button works without it.
      this.setData({ credits: null })
    }
  },

  onRetry() {
    return this.load()
  },

  onTypeTap(e) {
    const index = e.currentTarget.dataset.index
    this.setData({ [`types[${index}].selected`]: !this.data.types[index].selected })
  },

  onDepartmentTap(e) {
    const index = e.currentTarget.dataset.index
    this.setData({ [`departments[${index}].selected`]: !this.data.departments[index].selected })
  },

  onModeTap(e) {
    this.setData({ mode: e.currentTarget.dataset.mode })
  },

  onQuietStartChange(e) {
    this.setData({ quietStart: e.detail.value })
  },

  onQuietEndChange(e) {
    this.setData({ quietEnd: e.detail.value })
  },

  async onSave() {
    if (this.data.saving) return
    const data = {
      policy_types: selectedOf(this.data.types),
      departments: selectedOf(this.data.departments),
      mode: this.data.mode,
      quiet_start: this.data.quietStart,
      quiet_end: this.data.quietEnd,
    }
    this.setData({ saving: true })
    try {
      await request({ api: 'updatePreferences', data })
      this.setData({ saving: false })
      wx.showToast({ title: '设置已保存', icon: 'success' })
    } catch (err) {
      this.setData({ saving: false })
      showError(err)
    }
  },

  // As on 政策详情: the popup must be requested synchronously inside the tap.
  onSubscribe() {
    if (this.data.subscribing) return Promise.resolve()
    const pending = subscribePolicyReminders()
    this.setData({ subscribing: true })
    return pending.then(({ results, message }) => {
      this.setData({ subscribing: false })
      wx.showToast({ title: message, icon: 'none', duration: 2500 })
      return results.length ? this.loadCredits() : null
    })
  },
})
