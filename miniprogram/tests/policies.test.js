const { openPage } = require('./helpers/page')
const { installPolicyBackend, policyListItem, POLICIES, VISITOR } = require('./helpers/fixtures')
const { jsonError } = require('./helpers/wx-mock')

describe('政策 page', () => {
  let backend

  beforeEach(() => {
    backend = installPolicyBackend(wx)
  })

  test('为我推荐 shows each fitting policy with its reasons as chips and what is still missing', async () => {
    const page = await openPage('pages/policies/policies')

    expect(wx.requestsTo('GET', '/api/v1/policies/recommended')).toHaveLength(1)
    const rows = page.texts('#recommended .policy')
    expect(rows).toHaveLength(2)
    expect(page.text('#feed-11 .policy-title')).toBe('小微企业稳岗返还')
    expect(page.text('#feed-11 .tags')).toBe('奖补')
    expect(page.text('#feed-11 .policy-meta')).toBe('人社 · 有效期至 2025-12-31')
    expect(page.texts('#feed-11 .reason')).toEqual([
      '企业规模为微型，符合“小型、微型”要求',
      '注册地为深圳市（4403），符合“深圳市（4403）”要求',
    ])
    expect(page.text('#feed-11 .missing')).toBe('还差：政策要求从业人员不超过100人，请在企业资料中填写从业人员数')
  })

  test('a 免申即享 policy is marked, a long-term one says 长期有效, and nothing missing shows no 还差 line', async () => {
    const page = await openPage('pages/policies/policies')

    expect(page.text('#feed-12 .tags')).toBe('减免 免申即享')
    expect(page.text('#feed-12 .policy-meta')).toBe('税务 · 长期有效')
    expect(page.exists('#feed-12 .missing')).toBe(false)
  })

  test('tapping a recommended policy opens its detail', async () => {
    const page = await openPage('pages/policies/policies')

    await page.tap('#feed-12')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/policy-detail/policy-detail?id=12' })
  })

  test('a visitor without an enterprise is invited to certify instead of an empty feed', async () => {
    backend.user = VISITOR
    const page = await openPage('pages/policies/policies')

    expect(page.text('#need-enterprise')).toContain('认证企业，获取专属政策推荐')
    expect(page.exists('.no-feed')).toBe(false)
    await page.tap('#certify')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise/enterprise' })
  })

  test('a user whose enterprise is not certified yet (404 请先完成企业认证) is invited to certify', async () => {
    wx.on('GET', '/api/v1/policies/recommended', jsonError(404, 'not_found', '请先完成企业认证'))
    const page = await openPage('pages/policies/policies')

    expect(page.exists('#need-enterprise')).toBe(true)
    expect(page.exists('.feed-error')).toBe(false)
  })

  test('the feed is paged: scrolling to the bottom of 为我推荐 loads more', async () => {
    const many = Array.from({ length: 23 }, (_, i) => ({
      ...policyListItem({ id: 200 + i, title: `推荐政策${i + 1}` }),
      match: { eligible: true, score: 90 - i, reasons: ['行业符合'], missing: [] },
    }))
    wx.on('GET', '/api/v1/policies/recommended', (req) => {
      const p = Number(req.query.page)
      return { status: 200, body: { items: many.slice((p - 1) * 20, p * 20), total: 23, page: p, page_size: 20 } }
    })
    const page = await openPage('pages/policies/policies')
    expect(wx.requestsTo('GET', '/api/v1/policies/recommended')[0].query).toEqual({ page: '1', page_size: '20' })
    expect(page.texts('#recommended .policy')).toHaveLength(20)
    expect(page.text('#recommended .result-count')).toBe('根据企业信息为您推荐 23 项政策')

    await page.lifecycle('onReachBottom')

    expect(page.texts('#recommended .policy')).toHaveLength(23)
    expect(page.text('#recommended .list-footer')).toBe('已经到底了')
    await page.lifecycle('onReachBottom')
    expect(wx.requestsTo('GET', '/api/v1/policies/recommended')).toHaveLength(2)
  })

  test('an enterprise nothing fits is told so and pointed to 全部政策', async () => {
    wx.on('GET', '/api/v1/policies/recommended', { status: 200, body: { items: [] } })
    const page = await openPage('pages/policies/policies')

    expect(page.text('.no-feed')).toBe('暂无为您推荐的政策，可在“全部政策”中查看')
    expect(page.exists('#need-enterprise')).toBe(false)
  })

  test('coming back to the tab reloads the feed (after 完善企业信息 it may have changed)', async () => {
    const page = await openPage('pages/policies/policies')

    await page.lifecycle('onShow')

    expect(wx.requestsTo('GET', '/api/v1/policies/recommended')).toHaveLength(2)
  })

  test('a feed that fails to load explains why and can be retried', async () => {
    wx.on('GET', '/api/v1/policies/recommended', { networkError: 'request:fail' })
    const page = await openPage('pages/policies/policies')

    expect(page.text('.feed-error')).toContain('网络连接失败，请检查网络后重试')
    installPolicyBackend(wx)
    await page.tap('.feed-error .retry')
    expect(page.texts('#recommended .policy')).toHaveLength(2)
  })

  test('showing the tab puts the unread count on the 消息 tab', async () => {
    await openPage('pages/policies/policies')

    expect(wx.tabBadges).toEqual({ 2: '1' })
  })

  test('全部政策 is loaded when first opened and lists every policy', async () => {
    const page = await openPage('pages/policies/policies')
    expect(wx.requestsTo('GET', '/api/v1/policies')).toHaveLength(0)

    await page.tap('#tab-all')

    expect(page.texts('#all .policy')).toHaveLength(3)
    expect(page.text('#policy-12')).toBe('小型微利企业所得税减免 减免 免申即享 税务 · 财税〔2023〕12号 应纳税所得额减按25%计入')
    expect(page.text('.result-count')).toBe('共 3 项政策')
    expect(page.texts('.type-tab')).toEqual(['全部', '减免', '奖补', '权益', '资质'])
  })

  test('the type filter sends policy_type and shows only that type', async () => {
    const page = await openPage('pages/policies/policies')
    await page.tap('#tab-all')

    await page.tap('#type-qualification')

    expect(wx.requestsTo('GET', '/api/v1/policies').pop().query).toEqual({ policy_type: 'qualification', page: '1', page_size: '20' })
    expect(page.texts('#all .policy .policy-title')).toEqual(['高新技术企业认定奖励'])

    await page.tap('#type-all')
    expect(wx.requestsTo('GET', '/api/v1/policies').pop().query.policy_type).toBeUndefined()
    expect(page.texts('#all .policy')).toHaveLength(3)
  })

  test('searching sends the keyword and the department filter', async () => {
    const page = await openPage('pages/policies/policies')
    await page.tap('#tab-all')

    await page.tap('#dept-hrss')
    await page.input('#search-input', ' 稳岗 ')
    await page.tap('#search-button')

    expect(wx.requestsTo('GET', '/api/v1/policies').pop().query).toEqual({ q: '稳岗', department: 'hrss', page: '1', page_size: '20' })
    expect(page.texts('#all .policy .policy-title')).toEqual(['小微企业稳岗返还'])
  })

  test('a search without results says so', async () => {
    const page = await openPage('pages/policies/policies')
    await page.tap('#tab-all')

    await page.input('#search-input', '不存在的政策')
    await page.confirm('#search-input')

    expect(page.text('.no-results')).toBe('没有找到相关政策，换个说法试试')
  })

  test('scrolling to the bottom of 全部政策 loads the next page', async () => {
    const many = Array.from({ length: 25 }, (_, i) => policyListItem({ id: 100 + i, title: `政策${i + 1}` }))
    wx.on('GET', '/api/v1/policies', (req) => {
      const p = Number(req.query.page)
      return { status: 200, body: { items: many.slice((p - 1) * 20, p * 20), total: 25, page: p, page_size: 20 } }
    })
    const page = await openPage('pages/policies/policies')
    await page.tap('#tab-all')
    expect(page.texts('#all .policy')).toHaveLength(20)

    await page.lifecycle('onReachBottom')

    expect(page.texts('#all .policy')).toHaveLength(25)
    expect(page.text('.list-footer')).toBe('已经到底了')
  })

  test('the browse list shows the server\'s message when it fails', async () => {
    wx.on('GET', '/api/v1/policies', jsonError(422, 'validation_error', '每页最多50条'))
    const page = await openPage('pages/policies/policies')

    await page.tap('#tab-all')

    expect(page.text('.load-error')).toContain('每页最多50条')
  })

  test('tapping a policy in 全部政策 opens its detail', async () => {
    const page = await openPage('pages/policies/policies')
    await page.tap('#tab-all')

    await page.tap(`#policy-${POLICIES[2].id}`)

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/policy-detail/policy-detail?id=13' })
  })
})
