const { openPage } = require('./helpers/page')
const { installPolicyBackend, inboxMessage } = require('./helpers/fixtures')
const { jsonError } = require('./helpers/wx-mock')

describe('消息 page', () => {
  let backend

  beforeEach(() => {
    backend = installPolicyBackend(wx)
  })

  test('lists messages newest first with Beijing time, marks unread ones and counts them', async () => {
    const page = await openPage('pages/inbox/inbox')

    expect(wx.requestsTo('GET', '/api/v1/inbox')[0].query).toEqual({ page: '1' })
    expect(page.texts('.message')).toEqual([
      '新政策：小微企业稳岗返还 您的企业可能符合申报条件 2024-05-01 09:30',
      '新政策：小型微利企业所得税减免 免申即享，请确认享受意愿 2024-04-20 16:05',
    ])
    expect(page.exists('#message-501.unread .dot')).toBe(true)
    expect(page.exists('#message-502 .dot')).toBe(false)
    expect(page.text('#unread-summary')).toBe('您有 1 条未读消息')
  })

  test('the unread count is shown on the 消息 tab', async () => {
    await openPage('pages/inbox/inbox')

    expect(wx.setTabBarBadge).toHaveBeenCalledWith(expect.objectContaining({ index: 2, text: '1' }))
  })

  test('tapping an unread message marks it read and opens the policy with from=inbox', async () => {
    const page = await openPage('pages/inbox/inbox')

    await page.tap('#message-501')

    expect(wx.requestsTo('POST', '/api/v1/inbox/501/read')).toHaveLength(1)
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/policy-detail/policy-detail?id=11&from=inbox' })
    expect(page.exists('#message-501 .dot')).toBe(false)
    expect(page.text('#unread-summary')).toBe('消息已全部读完')
    expect(wx.tabBadges).toEqual({})
  })

  test('tapping a message already read opens it without another read receipt', async () => {
    const page = await openPage('pages/inbox/inbox')

    await page.tap('#message-502')

    expect(wx.requestsTo('POST', '/api/v1/inbox/502/read')).toHaveLength(0)
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/policy-detail/policy-detail?id=12&from=inbox' })
  })

  test('a message that is not about a policy (a consultation reply) follows the page its push would open', async () => {
    wx.on('GET', '/api/v1/inbox', {
      status: 200,
      body: {
        items: [inboxMessage({ id: 600, kind: 'consultation', source_id: 77, title: '您的咨询已回复', page: 'pages/mine/mine?from=message' })],
        total: 1,
        unread: 1,
      },
    })
    const page = await openPage('pages/inbox/inbox')

    await page.tap('#message-600')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/mine/mine?from=inbox' })
  })

  test('a failed read receipt still opens the policy', async () => {
    wx.on('POST', '/api/v1/inbox/501/read', { networkError: 'request:fail' })
    const page = await openPage('pages/inbox/inbox')

    await page.tap('#message-501')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/policy-detail/policy-detail?id=11&from=inbox' })
    expect(wx.toasts).toEqual([])
  })

  test('coming back to the tab shows what the server now knows', async () => {
    const page = await openPage('pages/inbox/inbox')
    backend.read.add(501)

    await page.lifecycle('onShow')

    expect(page.text('#unread-summary')).toBe('消息已全部读完')
    expect(wx.removeTabBarBadge).toHaveBeenCalledWith(expect.objectContaining({ index: 2 }))
  })

  test('an empty inbox explains what will appear here', async () => {
    wx.on('GET', '/api/v1/inbox', { status: 200, body: { items: [], total: 0, unread: 0 } })
    const page = await openPage('pages/inbox/inbox')

    expect(page.text('.no-messages')).toBe('暂无消息。有适合您企业的新政策时，会在这里通知您。')
    expect(page.exists('#unread-summary')).toBe(false)
  })

  test('older messages are loaded at the bottom of the list', async () => {
    const many = Array.from({ length: 25 }, (_, i) => inboxMessage({ id: 700 + i, title: `消息${i + 1}`, read_at: '2024-05-01T00:00:00Z' }))
    wx.on('GET', '/api/v1/inbox', (req) => {
      const p = Number(req.query.page)
      return { status: 200, body: { items: many.slice((p - 1) * 20, p * 20), total: 25, page: p, page_size: 20, unread: 0 } }
    })
    const page = await openPage('pages/inbox/inbox')
    expect(page.texts('.message')).toHaveLength(20)

    await page.lifecycle('onReachBottom')

    expect(wx.requestsTo('GET', '/api/v1/inbox').pop().query).toEqual({ page: '2' })
    expect(page.texts('.message')).toHaveLength(25)
    expect(page.text('.list-footer')).toBe('没有更多消息了')
  })

  test('a failure to load is explained and can be retried', async () => {
    wx.on('GET', '/api/v1/inbox', jsonError(503, 'unavailable', ''))
    const page = await openPage('pages/inbox/inbox')

    expect(page.text('.load-error')).toContain('服务暂时不可用，请稍后重试')
    installPolicyBackend(wx)
    await page.tap('.retry')
    expect(page.texts('.message')).toHaveLength(2)
  })

  test('pull-down refresh reloads and stops the spinner', async () => {
    const page = await openPage('pages/inbox/inbox')

    await page.lifecycle('onPullDownRefresh')

    expect(wx.requestsTo('GET', '/api/v1/inbox')).toHaveLength(2)
    expect(wx.stopPullDownRefresh).toHaveBeenCalled()
  })
})
