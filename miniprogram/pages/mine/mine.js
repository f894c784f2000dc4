const { request, login } = require('../../utils/request')
const session = require('../../utils/session')
const { ROLE_LABELS, labelOf, sizeLabel } = require('../../utils/format')
const { validateInvitationCode } = require('../../utils/validators')

function presentUser(user) {
  return {
    displayName: user.display_name || '微信用户',
    role: user.role,
    roleLabel: labelOf(ROLE_LABELS, user.role),
  }
}

function presentEnterprise(e) {
  const size = e.size || {}
  return {
    id: e.id,
    name: e.name,
    creditCode: e.credit_code,
    industryName: e.industry_name || '',
    regionCode: e.region_code || '',
    foundedOn: e.founded_on || '',
    contactPhone: e.contact_phone || '',
    sizeLabel: sizeLabel(e),
    groupLabel: size.group_label || '',
    basis: size.basis || '',
  }
}

Page({
  data: {
    loading: true,
    loggedIn: false,
    loginError: '',
    user: null,
    enterprise: null,
    enterpriseError: '',
    isOwner: false,
    inviteCode: '',
    joinError: '',
    joining: false,
  },

  // Refreshed on every show: coming back from 企业认证 or after joining must
  // show the new enterprise without a manual refresh.
  onShow() {
    return this.refresh()
  },

  onPullDownRefresh() {
    return this.refresh().then(() => wx.stopPullDownRefresh())
  },

  async refresh() {
    this.setData({ loading: true, loginError: '' })
    let user
    try {
      user = await request({ api: 'me' })
    } catch (err) {
      this.setData({ loading: false, loggedIn: false, user: null, enterprise: null, loginError: err.message })
      return
    }
    session.setUser(user)
    this.setData({
      loggedIn: true,
      user: presentUser(user),
      isOwner: user.role === 'enterprise_owner',
    })
    await this.loadEnterprise(user.enterprise_id)
    this.setData({ loading: false })
  },

  async loadEnterprise(enterpriseId) {
    if (enterpriseId === null || enterpriseId === undefined) {
      this.setData({ enterprise: null, enterpriseError: '' })
      return
    }
    try {
      const enterprise = await request({ api: 'enterpriseDetail', params: { id: enterpriseId } })
      this.setData({ enterprise: presentEnterprise(enterprise), enterpriseError: '' })
    } catch (err) {
      this.setData({ enterprise: null, enterpriseError: err.message })
    }
  },

  /** Explicit retry after a failed silent login (no network, WeChat refused the code). */
  async onLogin() {
    try {
      await login()
    } catch (err) {
      this.setData({ loginError: err.message })
      return
    }
    await this.refresh()
  },

  onCertify() {
    wx.navigateTo({ url: '/pages/enterprise/enterprise' })
  },

  onEditEnterprise() {
    const { enterprise } = this.data
    if (!enterprise) return
    wx.navigateTo({ url: `/pages/enterprise/enterprise?id=${encodeURIComponent(enterprise.id)}` })
  },

  onPreferences() {
    wx.navigateTo({ url: '/pages/preferences/preferences' })
  },

  onMyConsultations() {
    wx.navigateTo({ url: '/pages/consult-list/consult-list' })
  },

  onFeedback() {
    wx.navigateTo({ url: '/pages/feedback/feedback' })
  },

  onInviteInput(e) {
    this.setData({ inviteCode: e.detail.value, joinError: '' })
  },

  async onJoin() {
    if (this.data.joining) return
    const code = this.data.inviteCode.trim()
    const problem = validateInvitationCode(code)
    if (problem) {
      this.setData({ joinError: problem })
      return
    }
    this.setData({ joining: true, joinError: '' })
    try {
      const enterprise = await request({ api: 'joinEnterprise', data: { code } })
      session.setEnterpriseId(enterprise.id)
      this.setData({ joining: false, inviteCode: '' })
      wx.showToast({ title: '已加入企业', icon: 'success' })
      // The role changes on the server (visitor → member); reload it from there.
      await this.refresh()
    } catch (err) {
      this.setData({ joining: false, joinError: err.message })
    }
  },
})
