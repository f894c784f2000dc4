const { openPage } = require('./helpers/page')
const { installBackend } = require('./helpers/fixtures')

describe('事项详情 page', () => {
  beforeEach(() => {
    installBackend(wx)
  })

  test('shows name, type, department, implementing body, time limits and fees', async () => {
    const page = await openPage('pages/item-detail/item-detail', { id: '1' })

    expect(wx.requestsTo('GET', '/api/v1/service-items/1')).toHaveLength(1)
    expect(page.text('#item-name')).toBe('营业执照核发（个体工商户）')
    expect(page.text('#item-type')).toBe('行政许可')
    expect(page.text('#item-department')).toBe('主管部门 市市场监督管理局')
    expect(page.text('#implementing-body')).toBe('实施主体 市市场监督管理局登记注册处')
    expect(page.text('#statutory-days')).toBe('法定时限 15 个工作日')
    expect(page.text('#committed-days')).toBe('承诺时限 3 个工作日')
    expect(page.text('#fees')).toBe('收费标准 不收费')
    expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '营业执照核发（个体工商户）' })
  })

  test('lists every material as 必需/可选 with its form, number of copies and notes', async () => {
    const page = await openPage('pages/item-detail/item-detail', { id: '1' })

    const materials = page.texts('.material')
    expect(page.text('#materials .card-title')).toBe('申请材料（3 项）')
    expect(materials[0]).toBe('必需 登记申请书 原件 · 1 份 说明：经营者本人签字')
    expect(materials[1]).toBe('必需 经营者身份证明 复印件 · 1 份')
    expect(materials[2]).toBe('可选 经营场所使用证明 电子件 · 2 份 说明：租房合同或房产证')
  })

  test('shows the steps in order, the legal basis and the FAQ', async () => {
    const page = await openPage('pages/item-detail/item-detail', { id: '1' })

    expect(page.texts('.step')).toEqual([
      '1. 申请 网上或窗口提交材料',
      '2. 受理 材料齐全当场受理',
      '3. 发证 审核通过后发放执照',
    ])
    expect(page.text('#legal-basis')).toContain('《中华人民共和国市场主体登记管理条例》第三条')
    expect(page.texts('.faq')).toEqual(['问：可以委托他人办理吗？ 答：可以，需提供委托书和受托人身份证明。'])
  })

  test('an item that can be done online offers to copy the portal link', async () => {
    const page = await openPage('pages/item-detail/item-detail', { id: '1' })

    expect(page.text('#online')).toContain('支持全程网办')
    expect(page.text('#offline-location')).toContain('市民中心二楼 A 区 12-15 号窗口')
    await page.tap('#copy-online-url')

    expect(wx.setClipboardData).toHaveBeenCalledWith(expect.objectContaining({ data: 'https://zwfw.example.gov.cn/item/1' }))
    expect(wx.toasts).toContain('网办链接已复制，请在浏览器中打开')
  })

  test('an item that cannot be done online sends people to the counter', async () => {
    const page = await openPage('pages/item-detail/item-detail', { id: '2' })

    expect(page.text('#offline-only')).toContain('暂不支持，请到窗口办理')
    expect(page.exists('#copy-online-url')).toBe(false)
  })

  test('an item settled on the spot says 即办, and a charged item shows its fee', async () => {
    wx.on('GET', '/api/v1/service-items/9', {
      status: 200,
      body: {
        id: 9, name: '刻制公章备案', item_type: '行政备案', department: { code: 'psb', name: '市公安局', short_name: '公安' },
        stage: 'start', statutory_days: 0, committed_days: 0, online_available: false, summary: '',
        implementing_body: '', legal_basis: '', materials: [], steps: [], fees: '按物价部门核定标准收取', faq: [],
      },
    })
    const page = await openPage('pages/item-detail/item-detail', { id: '9' })

    expect(page.text('#committed-days')).toBe('承诺时限 即办')
    expect(page.text('#item-type')).toBe('行政备案')
    expect(page.text('#fees')).toBe('收费标准 按物价部门核定标准收取')
    expect(page.exists('#materials')).toBe(false)
  })

  test('a withdrawn item shows the server\'s message and can be retried', async () => {
    const page = await openPage('pages/item-detail/item-detail', { id: '404' })

    expect(page.text('.load-error')).toContain('事项不存在或已下线')
    await page.tap('.retry')
    expect(wx.requestsTo('GET', '/api/v1/service-items/404')).toHaveLength(2)
  })

  test('a network failure is explained in Chinese', async () => {
    wx.on('GET', '/api/v1/service-items/1', { networkError: 'request:fail' })
    const page = await openPage('pages/item-detail/item-detail', { id: '1' })

    expect(page.text('.load-error')).toContain('网络连接失败，请检查网络后重试')
  })

  test('sharing the page shares this item', async () => {
    const page = await openPage('pages/item-detail/item-detail', { id: '1' })

    expect(page.instance.onShareAppMessage()).toEqual({
      title: '营业执照核发（个体工商户）｜办事指南',
      path: '/pages/item-detail/item-detail?id=1',
    })
  })

  test('a server 500 without a body still gets a Chinese message', async () => {
    wx.on('GET', '/api/v1/service-items/1', { status: 502, body: '<html>Bad Gateway</html>' })
    const page = await openPage('pages/item-detail/item-detail', { id: '1' })

    expect(page.text('.load-error')).toContain('服务暂时不可用，请稍后重试')
  })

})
