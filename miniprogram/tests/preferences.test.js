const { openPage } = require('./helpers/page')
const { installPolicyBackend } = require('./helpers/fixtures')
const { jsonError } = require('./helpers/wx-mock')

describe('推送设置 page', () => {
  let backend

  beforeEach(() => {
    backend = installPolicyBackend(wx)
  })

  test('shows the saved preferences', async () => {
    const page = await openPage('pages/preferences/preferences')

    expect(page.texts('#types .chip')).toEqual(['减免', '奖补', '权益', '资质'])
    expect(page.texts('#types .chip.active')).toEqual(['奖补'])
    expect(page.texts('#departments .chip.active')).toEqual(['人社'])
    expect(page.exists('#mode-immediate.active')).toBe(true)
    expect(page.valueOf('#quiet-start')).toBe('21:00')
    expect(page.text('#quiet-end-value')).toBe('08:00')
    expect(page.text('#credits')).toBe('当前还可接收 2 条新政策提醒')
  })

  test('saving puts the chosen types, departments, mode and quiet hours', async () => {
    const page = await openPage('pages/preferences/preferences')

    await page.tap('#type-reduction')
    await page.tap('#type-subsidy')
    await page.tap('#dept-tax')
    await page.tap('#mode-digest')
    await page.pick('#quiet-start', '22:30')
    await page.pick('#quiet-end', '07:00')
    await page.tap('#save')

    expect(wx.requestsTo('PUT', '/api/v1/preferences')[0].data).toEqual({
      policy_types: ['reduction'],
      departments: ['hrss', 'tax'],
      mode: 'digest',
      quiet_start: '22:30',
      quiet_end: '07:00',
    })
    expect(wx.toasts).toContain('设置已保存')
    expect(backend.preferences.mode).toBe('digest')
  })

  test('no type and no department chosen means everything (empty lists)', async () => {
    const page = await openPage('pages/preferences/preferences')

    await page.tap('#type-subsidy')
    await page.tap('#dept-hrss')
    await page.tap('#save')

    expect(wx.requestsTo('PUT', '/api/v1/preferences')[0].data).toMatchObject({ policy_types: [], departments: [] })
  })

  test('a user who never saved preferences sees the defaults', async () => {
    wx.on('GET', '/api/v1/preferences', { status: 200, body: {} })
    const page = await openPage('pages/preferences/preferences')

    expect(page.texts('#types .chip.active')).toEqual([])
    expect(page.exists('#mode-immediate.active')).toBe(true)
    expect(page.text('#quiet-start-value')).toBe('21:00')
    expect(page.text('#quiet-end-value')).toBe('08:00')
  })

  test('a rejected save shows the server\'s message', async () => {
    wx.on('PUT', '/api/v1/preferences', jsonError(422, 'validation_error', '免打扰时间格式应为HH:MM'))
    const page = await openPage('pages/preferences/preferences')

    await page.tap('#save')

    expect(wx.toasts).toContain('免打扰时间格式应为HH:MM')
  })

  test('订阅提醒 asks WeChat, reports the answer and shows the new count', async () => {
    const page = await openPage('pages/preferences/preferences')

    await page.tap('#subscribe-button')

    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['sandbox-tpl-policy'])
    expect(wx.requestsTo('POST', '/api/v1/subscriptions/results')[0].data).toEqual({
      results: [{ template_id: 'sandbox-tpl-policy', outcome: 'accept' }],
    })
    expect(page.text('#credits')).toBe('当前还可接收 3 条新政策提醒')
  })

  test('the remaining count is the server\'s policy-purpose row even if the template id differs', async () => {
    wx.on('GET', '/api/v1/subscriptions', {
      status: 200,
      body: { items: [{ template_id: 'real-tpl-from-mp-admin', purpose: 'policy', credits: 5, last_outcome: 'accept' }] },
    })
    const page = await openPage('pages/preferences/preferences')

    expect(page.text('#credits')).toBe('当前还可接收 5 条新政策提醒')
  })

  test('a failure to load explains why and can be retried', async () => {
    wx.on('GET', '/api/v1/preferences', { networkError: 'request:fail timeout' })
    const page = await openPage('pages/preferences/preferences')

    expect(page.text('.load-error')).toContain('网络超时，请稍后重试')
    installPolicyBackend(wx)
    await page.tap('.retry')
    expect(page.exists('#save')).toBe(true)
  })
})
