const { openPage } = require('./helpers/page')
const { installBackend, enterprise, VALID_CREDIT_CODE, OWNER } = require('./helpers/fixtures')
const { jsonError } = require('./helpers/wx-mock')

// The indexes of the industry picker, in the order the fake server lists them.
const SOFTWARE = 0
const CONSTRUCTION = 1

async function fillValidForm(page, { industry = SOFTWARE } = {}) {
  await page.input('#input-credit_code', VALID_CREDIT_CODE)
  await page.input('#input-name', '福州小桥软件有限公司')
  await page.pick('#industry-picker', industry)
  await page.input('#input-region_code', '350102')
  await page.input('#input-employees', '8')
  await page.input('#input-revenue', '30')
  await page.pick('#founded-on-picker', '2019-05-20')
  await page.input('#input-contact_phone', '13812341234')
}

describe('企业认证 page', () => {
  let backend

  beforeEach(() => {
    backend = installBackend(wx)
    wx.on('POST', '/api/v1/enterprises', (req) => {
      backend.user = OWNER
      return { status: 201, body: enterprise({ ...req.data, contact_phone: '13812341234' }) }
    })
  })

  test('offers the industries from the server and hides 资产总额 for software companies', async () => {
    const page = await openPage('pages/enterprise/enterprise')

    expect(page.valueOf('#industry-picker')).toBe(-1)
    expect(page.text('#industry-value')).toBe('请选择所属行业')
    await page.pick('#industry-picker', SOFTWARE)

    expect(page.text('#industry-value')).toBe('软件和信息技术服务业')
    expect(page.exists('#field-assets')).toBe(false)
  })

  test('asks for 资产总额 once a construction industry is chosen', async () => {
    const page = await openPage('pages/enterprise/enterprise')

    await page.pick('#industry-picker', CONSTRUCTION)

    expect(page.text('#field-assets')).toContain('资产总额（万元）')
  })

  test('submitting an empty form shows what is missing next to each field and sends nothing', async () => {
    const page = await openPage('pages/enterprise/enterprise')

    await page.tap('#submit')

    expect(page.text('#error-credit_code')).toBe('请填写统一社会信用代码')
    expect(page.text('#error-name')).toBe('请填写企业名称')
    expect(page.text('#error-industry_code')).toBe('请选择所属行业')
    expect(page.text('#error-region_code')).toBe('请填写行政区划代码')
    expect(page.text('#error-employees')).toBe('请填写从业人员人数')
    expect(page.text('#error-revenue')).toBe('请填写营业收入（万元）')
    expect(page.text('#error-founded_on')).toBe('请选择成立日期')
    expect(page.text('#error-contact_phone')).toBe('请填写联系电话')
    expect(wx.toasts).toContain('请按提示修改后再提交')
    expect(wx.requestsTo('POST', '/api/v1/enterprises')).toHaveLength(0)
  })

  test('a credit code with a wrong check character is caught on the phone, before the server sees it', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page)
    const wrong = VALID_CREDIT_CODE.slice(0, 17) + (VALID_CREDIT_CODE[17] === '0' ? '1' : '0')

    await page.input('#input-credit_code', wrong)
    await page.tap('#submit')

    expect(page.text('#error-credit_code')).toBe('统一社会信用代码校验位错误，请核对整个代码是否有输入错误')
    expect(wx.requestsTo('POST', '/api/v1/enterprises')).toHaveLength(0)
  })

  test('leaving a field shows its problem straight away', async () => {
    const page = await openPage('pages/enterprise/enterprise')

    await page.input('#input-credit_code', '91350100M000100')
    await page.blur('#input-credit_code')
    await page.input('#input-contact_phone', '23812341234')
    await page.blur('#input-contact_phone')
    await page.input('#input-region_code', '35010')
    await page.blur('#input-region_code')
    await page.input('#input-employees', '8.5')
    await page.blur('#input-employees')

    expect(page.text('#error-credit_code')).toBe('统一社会信用代码应为18位（当前为15位）')
    expect(page.text('#error-contact_phone')).toBe('手机号码格式不正确')
    expect(page.text('#error-region_code')).toBe('行政区划代码应为6位数字')
    expect(page.text('#error-employees')).toBe('从业人员应为不小于0的整数')
  })

  test('typing again clears the old message for that field', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    await page.input('#input-contact_phone', '123')
    await page.blur('#input-contact_phone')
    expect(page.exists('#error-contact_phone')).toBe(true)

    await page.input('#input-contact_phone', '1381234')

    expect(page.exists('#error-contact_phone')).toBe(false)
  })

  test('a credit code typed in lower case, full width or with spaces is shown in canonical form', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    const fullWidth = VALID_CREDIT_CODE.toLowerCase().replace(/[0-9a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))

    await page.input('#input-credit_code', ` ${fullWidth.slice(0, 6)} ${fullWidth.slice(6)}`)

    expect(page.valueOf('#input-credit_code')).toBe(VALID_CREDIT_CODE)
  })

  test('a founding date in the future is refused', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page)

    await page.pick('#founded-on-picker', '2999-01-01')
    await page.tap('#submit')

    expect(page.text('#error-founded_on')).toBe('成立日期不能晚于今天')
    expect(wx.requestsTo('POST', '/api/v1/enterprises')).toHaveLength(0)
  })

  test('a valid form is sent with numbers as numbers, and the computed size class and basis are shown', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page)

    await page.tap('#submit')

    const [sent] = wx.requestsTo('POST', '/api/v1/enterprises')
    expect(sent.data).toEqual({
      credit_code: VALID_CREDIT_CODE,
      name: '福州小桥软件有限公司',
      industry_code: '65',
      region_code: '350102',
      employees: 8,
      revenue: 30,
      founded_on: '2019-05-20',
      contact_phone: '13812341234',
    })
    expect(sent.header.Authorization).toBe('Bearer token-1')
    expect(page.text('#result')).toContain('企业认证成功')
    expect(page.text('#size-label')).toBe('微型')
    expect(page.text('.result-size')).toBe('企业规模： 微型 企业')
    expect(page.text('#size-group')).toBe('适用行业标准：软件和信息技术服务业')
    expect(page.text('#size-basis')).toContain('从业人员8人、营业收入30万元')
    expect(wx.storage.get('enterprise_id')).toBe(42)
    expect(page.exists('#submit')).toBe(false)
  })

  test('a construction company also sends its assets', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page, { industry: CONSTRUCTION })
    await page.tap('#submit')
    expect(page.text('#error-assets')).toBe('请填写资产总额（万元）')

    await page.input('#input-assets', '1200.5')
    await page.tap('#submit')

    const [sent] = wx.requestsTo('POST', '/api/v1/enterprises')
    expect(sent.data).toMatchObject({ industry_code: '47', assets: 1200.5 })
  })

  test('assets typed for a construction industry are not sent after switching to software', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page, { industry: CONSTRUCTION })
    await page.input('#input-assets', '1200')

    await page.pick('#industry-picker', SOFTWARE)
    await page.tap('#submit')

    expect(wx.requestsTo('POST', '/api/v1/enterprises')[0].data).not.toHaveProperty('assets')
  })

  test('the server\'s 422 message for the credit code appears next to that field', async () => {
    wx.on('POST', '/api/v1/enterprises', jsonError(422, 'invalid_credit_code', '统一社会信用代码校验位错误', [
      { field: 'credit_code', message: '统一社会信用代码第3-8位应为有效的行政区划代码' },
    ]))
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page)

    await page.tap('#submit')

    expect(page.text('#error-credit_code')).toBe('统一社会信用代码第3-8位应为有效的行政区划代码')
    expect(page.exists('#result')).toBe(false)
  })

  test('server validation messages land on their own fields', async () => {
    wx.on('POST', '/api/v1/enterprises', jsonError(422, 'validation_error', '提交的信息有误', [
      { field: 'region_code', message: '行政区划代码不存在' },
      { field: 'employees', message: '从业人员数超出合理范围' },
    ]))
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page)

    await page.tap('#submit')

    expect(page.text('#error-region_code')).toBe('行政区划代码不存在')
    expect(page.text('#error-employees')).toBe('从业人员数超出合理范围')
    expect(page.exists('#error-credit_code')).toBe(false)
  })

  test('a credit code that is already registered is explained next to the code', async () => {
    wx.on('POST', '/api/v1/enterprises', jsonError(409, 'conflict', '该统一社会信用代码已被认证，如需加入请向企业负责人索取邀请码'))
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page)

    await page.tap('#submit')

    expect(page.text('#error-credit_code')).toBe('该统一社会信用代码已被认证，如需加入请向企业负责人索取邀请码')
  })

  test('a message about no particular field is shown above the button', async () => {
    wx.on('POST', '/api/v1/enterprises', jsonError(403, 'forbidden', '您已加入其他企业，不能重复认证'))
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page)

    await page.tap('#submit')

    expect(page.text('#form-error')).toBe('您已加入其他企业，不能重复认证')
    expect(wx.toasts).toContain('您已加入其他企业，不能重复认证')
  })

  test('editing loads the enterprise into the form and saves with PUT', async () => {
    backend.user = OWNER
    wx.on('GET', '/api/v1/enterprises/42', { status: 200, body: enterprise() })
    wx.on('PUT', '/api/v1/enterprises/42', (req) => ({ status: 200, body: enterprise({ ...req.data, size_class: 'small', size: { label: '小型', group_label: '软件和信息技术服务业', basis: '从业人员20人，营业收入800万元' } }) }))
    const page = await openPage('pages/enterprise/enterprise', { id: '42' })

    expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '修改企业信息' })
    expect(page.valueOf('#input-credit_code')).toBe(VALID_CREDIT_CODE)
    expect(page.valueOf('#input-name')).toBe('福州小桥软件有限公司')
    expect(page.text('#industry-value')).toBe('软件和信息技术服务业')
    expect(page.text('#founded-on-value')).toBe('2019-05-20')
    expect(page.text('#submit')).toBe('保存修改')

    await page.input('#input-employees', '20')
    await page.input('#input-revenue', '800')
    await page.tap('#submit')

    const [sent] = wx.requestsTo('PUT', '/api/v1/enterprises/42')
    expect(sent.data).toMatchObject({ employees: 20, revenue: 800, credit_code: VALID_CREDIT_CODE })
    expect(page.text('#size-label')).toBe('小型')
    expect(page.text('#result')).toContain('企业信息已更新')
  })

  test('a masked phone number is not sent back; the form asks for it again', async () => {
    wx.on('GET', '/api/v1/enterprises/42', { status: 200, body: enterprise({ contact_phone: '138****1234' }) })
    const page = await openPage('pages/enterprise/enterprise', { id: '42' })

    expect(page.valueOf('#input-contact_phone')).toBe('')
    await page.tap('#submit')
    expect(page.text('#error-contact_phone')).toBe('请填写联系电话')
  })

  test('when the industry list cannot be loaded the person can retry', async () => {
    wx.on('GET', '/api/v1/reference/industries', { networkError: 'request:fail' })
    const page = await openPage('pages/enterprise/enterprise')
    expect(page.text('#industries-error')).toBe('行业列表加载失败：网络连接失败，请检查网络后重试（点此重试）')

    installBackend(wx)
    await page.tap('#industries-error')

    expect(page.exists('#industries-error')).toBe(false)
    await page.pick('#industry-picker', SOFTWARE)
    expect(page.text('#industry-value')).toBe('软件和信息技术服务业')
  })

  test('editing links to 企业资质 for the same enterprise', async () => {
    backend.user = OWNER
    wx.on('GET', '/api/v1/enterprises/42', { status: 200, body: enterprise() })
    const page = await openPage('pages/enterprise/enterprise', { id: '42' })

    expect(page.text('#tags-link')).toContain('企业资质')
    await page.tap('#tags-link')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise-tags/enterprise-tags?id=42' })
  })

  test('a new enterprise is not offered 企业资质 before it exists, and is offered them once registered', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    expect(page.exists('#tags-link')).toBe(false)
    await fillValidForm(page)

    await page.tap('#submit')
    await page.tap('#result-tags')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise-tags/enterprise-tags?id=42' })
  })

  test('"完成" returns to 我的', async () => {
    const page = await openPage('pages/enterprise/enterprise')
    await fillValidForm(page)
    await page.tap('#submit')

    await page.tap('#done')

    expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/mine/mine' })
  })

})
