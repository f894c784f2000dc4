const { openPage } = require('./helpers/page')
const { installBackend, enterprise, OWNER, VISITOR } = require('./helpers/fixtures')
const { jsonError } = require('./helpers/wx-mock')

const MEMBER = { ...OWNER, id: 8, role: 'enterprise_member', display_name: '张会计' }

describe('我的 page', () => {
  let backend

  beforeEach(() => {
    backend = installBackend(wx, { user: VISITOR })
    wx.on('GET', '/api/v1/enterprises/42', { status: 200, body: enterprise() })
  })

  test('logs in silently with WeChat and shows the login state', async () => {
    const page = await openPage('pages/mine/mine')

    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(wx.requestsTo('POST', '/api/v1/auth/wechat-login')[0].data).toEqual({ code: 'wx-code-1' })
    expect(wx.requestsTo('GET', '/api/v1/me')[0].header.Authorization).toBe('Bearer token-1')
    expect(page.text('#profile')).toBe('微信用户 已登录 · 访客')
  })

  test('a visitor without an enterprise is offered 企业认证 and 加入企业', async () => {
    const page = await openPage('pages/mine/mine')

    expect(page.text('#no-enterprise')).toContain('去认证企业')
    expect(page.text('#join')).toContain('请向企业负责人索取邀请码')
    await page.tap('#certify')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise/enterprise' })
  })

  test('an owner sees the enterprise summary with its size class and can edit it', async () => {
    backend.user = OWNER
    const page = await openPage('pages/mine/mine')

    expect(wx.requestsTo('GET', '/api/v1/enterprises/42')).toHaveLength(1)
    expect(page.text('.enterprise-name')).toBe('福州小桥软件有限公司 微型企业')
    expect(page.text('#size-label')).toBe('微型企业')
    expect(page.text('#contact-phone')).toBe('13812341234')
    expect(page.text('#industry-name')).toBe('软件和信息技术服务业')
    expect(page.text('#size-basis')).toContain('符合软件和信息技术服务业微型企业标准')
    expect(page.exists('#join')).toBe(false)

    await page.tap('#edit-enterprise')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise/enterprise?id=42' })
    expect(wx.storage.get('enterprise_id')).toBe(42)
  })

  test('a member sees the masked phone and is told who can edit', async () => {
    backend.user = MEMBER
    wx.on('GET', '/api/v1/enterprises/42', { status: 200, body: enterprise({ contact_phone: '138****1234' }) })
    const page = await openPage('pages/mine/mine')

    expect(page.text('#login-state')).toBe('已登录 · 企业成员')
    expect(page.text('#contact-phone')).toBe('138****1234')
    expect(page.exists('#edit-enterprise')).toBe(false)
    expect(page.text('#member-note')).toBe('您是企业成员，如需修改企业信息请联系企业负责人')
  })

  test('joining with an invitation code shows the enterprise afterwards', async () => {
    wx.on('POST', '/api/v1/enterprises/join', (req) => {
      if (req.data.code !== 'K7Q2M9') return jsonError(404, 'not_found', '邀请码不存在')
      backend.user = MEMBER
      return { status: 200, body: enterprise({ contact_phone: '138****1234' }) }
    })
    const page = await openPage('pages/mine/mine')

    await page.input('#invite-code', ' K7Q2M9 ')
    await page.tap('#join-button')

    expect(wx.requestsTo('POST', '/api/v1/enterprises/join')[0].data).toEqual({ code: 'K7Q2M9' })
    expect(wx.toasts).toContain('已加入企业')
    expect(page.text('.enterprise-name')).toBe('福州小桥软件有限公司 微型企业')
    expect(page.text('#login-state')).toBe('已登录 · 企业成员')
  })

  test('a wrong invitation code shows the server\'s message under the box', async () => {
    wx.on('POST', '/api/v1/enterprises/join', jsonError(404, 'not_found', '邀请码不存在，请核对后重新输入'))
    const page = await openPage('pages/mine/mine')

    await page.input('#invite-code', 'WRONG1')
    await page.tap('#join-button')

    expect(page.text('#join-error')).toBe('邀请码不存在，请核对后重新输入')
    expect(page.exists('#enterprise')).toBe(false)
  })

  test('an expired invitation code says so', async () => {
    wx.on('POST', '/api/v1/enterprises/join', jsonError(410, 'gone', '邀请码已过期，请向企业负责人重新索取'))
    const page = await openPage('pages/mine/mine')

    await page.input('#invite-code', 'OLD123')
    await page.tap('#join-button')

    expect(page.text('#join-error')).toBe('邀请码已过期，请向企业负责人重新索取')
  })

  test('an empty invitation code is not sent', async () => {
    const page = await openPage('pages/mine/mine')

    await page.tap('#join-button')

    expect(page.text('#join-error')).toBe('请输入企业负责人提供的邀请码')
    expect(wx.requestsTo('POST', '/api/v1/enterprises/join')).toHaveLength(0)
  })

  test('an invitation code of the wrong length is caught before sending', async () => {
    const page = await openPage('pages/mine/mine')

    await page.input('#invite-code', 'AB1')
    await page.tap('#join-button')

    expect(page.text('#join-error')).toBe('邀请码应为4-32位，请核对后重新输入')
    expect(wx.requestsTo('POST', '/api/v1/enterprises/join')).toHaveLength(0)
  })

  test('when WeChat login fails the page says so and offers to try again', async () => {
    wx.loginFails = true
    const page = await openPage('pages/mine/mine')

    expect(page.text('#profile')).toContain('未登录')
    expect(page.text('#login-error')).toBe('微信登录失败，请稍后重试')

    wx.loginFails = false
    await page.tap('#login')
    expect(page.text('#login-state')).toBe('已登录 · 访客')
  })

  test('coming back after 企业认证 shows the new enterprise', async () => {
    const page = await openPage('pages/mine/mine')
    expect(page.exists('#no-enterprise')).toBe(true)

    backend.user = OWNER
    await page.lifecycle('onShow')

    expect(page.text('.enterprise-name')).toBe('福州小桥软件有限公司 微型企业')
    expect(wx.login).toHaveBeenCalledTimes(1)
  })

  test('推送设置 is linked from 我的 once logged in', async () => {
    const page = await openPage('pages/mine/mine')

    await page.tap('#preferences-link')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/preferences/preferences' })
  })

  test('an enterprise that cannot be loaded shows the reason', async () => {
    backend.user = OWNER
    wx.on('GET', '/api/v1/enterprises/42', jsonError(403, 'forbidden', '您已不是该企业成员'))
    const page = await openPage('pages/mine/mine')

    expect(page.text('#enterprise-error')).toBe('您已不是该企业成员')
  })
})
