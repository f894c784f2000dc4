const { request, showError } = require('../../utils/request')
const session = require('../../utils/session')
const { ENTERPRISE_FIELDS } = require('../../utils/api')
const { sizeLabel } = require('../../utils/format')
const {
  normalizeCreditCode,
  validateEnterpriseForm,
  toEnterprisePayload,
  needsAssets,
  formatDate,
} = require('../../utils/validators')

const EMPTY_FORM = {
  credit_code: '',
  name: '',
  industry_code: '',
  region_code: '',
  employees: '',
  revenue: '',
  assets: '',
  founded_on: '',
  contact_phone: '',
}

function asText(value) {
  return value === undefined || value === null ? '' : String(value)
}

Page({
  data: {
    mode: 'create',
    today: '',
    industries: [],
    industriesError: '',
    industryIndex: -1,
    industryName: '',
    needsAssets: false,
    form: { ...EMPTY_FORM },
    errors: {},
    formError: '',
    loadError: '',
    submitting: false,
    result: null,
  },

  onLoad(query) {
    this.enterpriseId = (query && query.id) || null
    const mode = this.enterpriseId ? 'edit' : 'create'
    this.setData({ mode, today: formatDate(new Date()) })
    wx.setNavigationBarTitle({ title: mode === 'edit' ? '修改企业信息' : '企业认证' })
    const loads = [this.loadIndustries()]
    if (this.enterpriseId) loads.push(this.loadEnterprise())
    return Promise.all(loads)
  },

  async loadIndustries() {
    this.setData({ industriesError: '' })
    try {
      const body = await request({ api: 'industries' })
      const industries = (body.items || []).map((i) => ({
        code: i.code,
        label: i.name,
        groupLabel: i.group_label || '',
        needsAssets: needsAssets(i),
      }))
      this.setData({ industries })
      this.syncIndustry()
    } catch (err) {
      this.setData({ industriesError: `行业列表加载失败：${err.message}` })
    }
  },

  async loadEnterprise() {
    try {
      const e = await request({ api: 'enterpriseDetail', params: { id: this.enterpriseId } })
      const phone = asText(e.contact_phone)
      this.setData({
        form: {
          credit_code: asText(e.credit_code),
          name: asText(e.name),
          industry_code: asText(e.industry_code),
          region_code: asText(e.region_code),
          employees: asText(e.employees),
          revenue: asText(e.revenue),
          assets: asText(e.assets),
          founded_on: asText(e.founded_on),
          // A masked number (138****1234) cannot be sent back; ask for it again.
          contact_phone: phone.indexOf('*') >= 0 ? '' : phone,
        },
      })
      this.syncIndustry()
    } catch (err) {
      this.setData({ loadError: err.message })
    }
  },

  /** Point the picker at the form's industry once both the list and the form are known. */
  syncIndustry() {
    const code = this.data.form.industry_code
    const index = this.data.industries.findIndex((i) => i.code === code)
    const industry = this.data.industries[index]
    this.setData({
      industryIndex: index,
      industryName: industry ? industry.label : '',
      needsAssets: industry ? industry.needsAssets : false,
    })
  },

  onRetryIndustries() {
    return this.loadIndustries()
  },

  onFieldInput(e) {
    const { field } = e.currentTarget.dataset
    let value = e.detail.value
    if (field === 'credit_code') value = normalizeCreditCode(value)
    // The old message no longer describes what is typed; re-check on blur/submit.
    this.setData({ [`form.${field}`]: value, [`errors.${field}`]: '' })
    return value
  },

  onFieldBlur(e) {
    const { field } = e.currentTarget.dataset
    // An empty field is only reported on submit, so tabbing through the form
    // does not paint it red before the person had a chance to fill it in.
    if (!asText(this.data.form[field]).trim()) return
    const errors = validateEnterpriseForm(this.data.form, { needsAssets: this.data.needsAssets })
    this.setData({ [`errors.${field}`]: errors[field] || '' })
  },

  onIndustryChange(e) {
    const index = Number(e.detail.value)
    const industry = this.data.industries[index]
    if (!industry) return
    this.setData({
      industryIndex: index,
      industryName: industry.label,
      needsAssets: industry.needsAssets,
      'form.industry_code': industry.code,
      'errors.industry_code': '',
      'errors.assets': '',
    })
  },

  onFoundedOnChange(e) {
    this.setData({ 'form.founded_on': e.detail.value, 'errors.founded_on': '' })
  },

  async onSubmit() {
    if (this.data.submitting) return
    const opts = { needsAssets: this.data.needsAssets, today: new Date() }
    const errors = validateEnterpriseForm(this.data.form, opts)
    if (Object.keys(errors).length) {
      this.setData({ errors, formError: '' })
      wx.showToast({ title: '请按提示修改后再提交', icon: 'none' })
      return
    }
    this.setData({ submitting: true, errors: {}, formError: '' })
    try {
      const data = toEnterprisePayload(this.data.form, opts)
      const saved = this.enterpriseId
        ? await request({ api: 'updateEnterprise', params: { id: this.enterpriseId }, data })
        : await request({ api: 'createEnterprise', data })
      session.setEnterpriseId(saved.id)
      this.enterpriseId = saved.id
      const size = saved.size || {}
      this.setData({
        submitting: false,
        result: {
          name: saved.name,
          sizeLabel: sizeLabel(saved),
          groupLabel: size.group_label || '',
          basis: size.basis || '',
        },
      })
    } catch (err) {
      this.setData({ submitting: false })
      this.showServerError(err)
    }
  },

  /** Put the server's messages next to the fields they are about. */
  showServerError(err) {
    if (err.name !== 'ApiError') {
      showError(err)
      return
    }
    const fieldErrors = typeof err.fieldErrors === 'function' ? err.fieldErrors() : {}
    const shown = {}
    const elsewhere = []
    Object.keys(fieldErrors).forEach((field) => {
      const visible = ENTERPRISE_FIELDS.indexOf(field) >= 0 && (field !== 'assets' || this.data.needsAssets)
      if (visible) shown[field] = fieldErrors[field]
      else elsewhere.push(fieldErrors[field])
    })
    // A duplicate or a bad check digit is about the credit code even when the
    // server sends no field details.
    if (!Object.keys(shown).length && (err.status === 409 || err.code === 'invalid_credit_code')) {
      shown.credit_code = err.message
    } else if (!Object.keys(shown).length && !elsewhere.length) {
      elsewhere.push(err.message)
    }
    this.setData({ errors: shown, formError: elsewhere.join('；') })
    wx.showToast({ title: Object.keys(shown).length ? '请按提示修改后再提交' : err.message, icon: 'none' })
  },

  onDone() {
    wx.switchTab({ url: '/pages/mine/mine' })
  },

  /** 企业资质 live on their own page: they are saved apart from the registration data. */
  onOpenTags() {
    if (!this.enterpriseId) return
    wx.navigateTo({ url: `/pages/enterprise-tags/enterprise-tags?id=${encodeURIComponent(this.enterpriseId)}` })
  },
})
