const { openPage } = require('./helpers/page')
const { VISITOR } = require('./helpers/fixtures')
const { installConsultBackend, consultation } = require('./helpers/consult-fixtures')

const CASES = [
  consultation({ id: 301 }),
  consultation({
    id: 302,
    kind: 'complaint',
    status: 'answered',
    title: '窗口要求提供的材料与办事指南不一致',
    due_at: '2024-05-23T23:59:59+08:00',
  }),
  consultation({ id: 303, status: 'closed', title: '稳岗返还什么时候到账？', service_item: null }),
  consultation({ id: 304, status: 'assigned', title: '税务注销需要清税证明吗？', overdue: true, time_left_seconds: -3600 }),
]

describe('我的咨询', () => {
  let backend

  beforeEach(() => {
    backend = installConsultBackend(wx, { cases: CASES })
  })

  test('lists every case with kind, status, title and deadline or 已超期', async () => {
    const page = await openPage('pages/consult-list/consult-list')

    expect(wx.requestsTo('GET', '/api/v1/consultations')[0].query).toEqual({ page: '1', page_size: '20' })
    expect(page.texts('.case')).toEqual([
      '咨询 办理中 税务注销需要清税证明吗？ 事项：营业执照核发（个体工商户） 2024-05-06 提交 已超期',
      '咨询 已办结 稳岗返还什么时候到账？ 2024-05-06 提交 答复期限 5月9日',
      '投诉 已答复 窗口要求提供的材料与办事指南不一致 事项：营业执照核发（个体工商户） 2024-05-06 提交 答复期限 5月23日',
      '咨询 办理中 个体户营业执照可以网上办理吗？需要带哪些材料？ 事项：营业执照核发（个体工商户） 2024-05-06 提交 预计 5月9日 前答复',
    ])
    expect(page.$('#case-304 .deadline').dom.className).toContain('overdue')
    expect(page.$('#case-301 .deadline').dom.className).not.toContain('overdue')
  })

  test('the tabs filter by status group and 全部 sends no filter', async () => {
    const page = await openPage('pages/consult-list/consult-list')

    await page.tap('#tab-answered')
    expect(wx.requestsTo('GET', '/api/v1/consultations')[1].query.state).toBe('answered')
    expect(page.texts('.case-title')).toEqual(['窗口要求提供的材料与办事指南不一致'])
    expect(page.$('#tab-answered').dom.className).toContain('active')

    await page.tap('#tab-closed')
    expect(page.texts('.case-title')).toEqual(['稳岗返还什么时候到账？'])

    await page.tap('#tab-assigned')
    expect(page.texts('.case-title')).toEqual(['税务注销需要清税证明吗？', '个体户营业执照可以网上办理吗？需要带哪些材料？'])

    await page.tap('#tab-all')
    expect(wx.requestsTo('GET', '/api/v1/consultations')[4].query.state).toBeUndefined()
    expect(page.texts('.case')).toHaveLength(4)
  })

  test('an empty tab says so and offers 我要咨询', async () => {
    backend.cases.clear()
    const page = await openPage('pages/consult-list/consult-list')

    expect(page.text('#no-cases')).toBe('您还没有提交过咨询 我要咨询 ›')
    await page.tap('#ask')
    expect(wx.navigations).toEqual([{ type: 'navigateTo', url: '/pages/consult-ask/consult-ask' }])
  })

  test('pages on when scrolled to the bottom, then says there is no more', async () => {
    backend.cases.clear()
    for (let i = 0; i < 25; i += 1) backend.cases.set(500 + i, consultation({ id: 500 + i, title: `问题 ${i + 1}` }))
    const page = await openPage('pages/consult-list/consult-list')

    expect(page.texts('.case')).toHaveLength(20)
    expect(page.exists('#no-more')).toBe(false)

    await page.lifecycle('onReachBottom')
    expect(wx.requestsTo('GET', '/api/v1/consultations')[1].query.page).toBe('2')
    expect(page.texts('.case')).toHaveLength(25)
    expect(page.text('#no-more')).toBe('没有更多了')

    await page.lifecycle('onReachBottom')
    expect(wx.requestsTo('GET', '/api/v1/consultations')).toHaveLength(2)
  })

  test('pull-down refresh reloads the first page and stops the spinner', async () => {
    const page = await openPage('pages/consult-list/consult-list')
    backend.cases.set(305, consultation({ id: 305, title: '新提交的问题：社保怎么转移？' }))

    await page.lifecycle('onPullDownRefresh')

    expect(page.texts('.case-title')[0]).toBe('新提交的问题：社保怎么转移？')
    expect(wx.stopPullDownRefresh).toHaveBeenCalled()
  })

  test('a tap opens the case', async () => {
    const page = await openPage('pages/consult-list/consult-list')

    await page.tap('#case-302')

    expect(wx.navigations).toEqual([{ type: 'navigateTo', url: '/pages/consult-detail/consult-detail?id=302' }])
  })

  test('someone without an enterprise is guided to 企业认证 instead of an error', async () => {
    backend.user = VISITOR
    const page = await openPage('pages/consult-list/consult-list')

    expect(page.text('#need-enterprise')).toBe('完成企业认证或加入企业后，即可在线咨询。 去认证企业 ›')
    await page.tap('#certify')
    expect(wx.navigations).toEqual([{ type: 'navigateTo', url: '/pages/enterprise/enterprise' }])
  })
})
