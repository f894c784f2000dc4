const { openPage } = require('./helpers/page')
const { jsonError } = require('./helpers/wx-mock')
const { installConsultBackend } = require('./helpers/consult-fixtures')

const OPINION = '材料清单里的身份证明要求复印件，窗口却要原件'

function creates() {
  return wx.requestsTo('POST', '/api/v1/consultations')
}

async function pickLicenceItem(page) {
  await page.input('#item-query', '营业执照')
  await page.tap('#item-search')
  await page.tap('#item-result-1')
}

describe('意见建议', () => {
  let backend

  beforeEach(() => {
    backend = installConsultBackend(wx)
  })

  test('starts as a suggestion and can be switched to a complaint', async () => {
    const page = await openPage('pages/feedback/feedback')

    expect(page.texts('.choice')).toEqual(['建议', '投诉'])
    expect(page.$('#kind-suggestion').dom.className).toContain('active')
    expect(page.text('.tip')).toContain('一般在 13 个工作日内答复')

    await page.tap('#kind-complaint')
    expect(page.$('#kind-complaint').dom.className).toContain('active')
    await page.tap('#submit')
    expect(page.text('#content-error')).toBe('请填写投诉的内容')
    expect(creates()).toHaveLength(0)
  })

  test('the element choice appears only once an item is picked', async () => {
    const page = await openPage('pages/feedback/feedback')
    expect(page.exists('#elements')).toBe(false)

    await pickLicenceItem(page)

    expect(page.text('#item-chip')).toContain('营业执照核发（个体工商户）')
    expect(page.texts('#elements .choice')).toEqual(['申请材料', '办理流程', '办理时限', '收费', '网上办理', '其他'])
  })

  test('for 申请材料 the person picks which material from the item\'s guide', async () => {
    const page = await openPage('pages/feedback/feedback')
    await page.tap('#kind-complaint')
    await pickLicenceItem(page)
    await page.tap('#element-materials')

    expect(page.$('#material-picker').data.range).toEqual(['登记申请书', '经营者身份证明', '经营场所使用证明'])
    expect(page.text('#material-value')).toBe('请选择是哪一项材料')

    await page.input('#content', OPINION)
    await page.tap('#submit')
    expect(page.text('#material-error')).toBe('请选择是哪一项申请材料')
    expect(creates()).toHaveLength(0)

    await page.pick('#material-picker', '1')
    expect(page.text('#material-value')).toBe('经营者身份证明')
    await page.tap('#submit')

    expect(creates()[0].data).toEqual({
      content: OPINION,
      kind: 'complaint',
      service_item_id: 1,
      element: 'materials',
      element_detail: '经营者身份证明',
    })
    expect(creates()[0].header['Idempotency-Key']).toMatch(/^[A-Za-z0-9_.:-]{8,64}$/)
    expect(wx.navigations).toEqual([{ type: 'redirectTo', url: '/pages/consult-detail/consult-detail?id=401&created=1' }])
  })

  test('another element is sent without a detail, and changing the item clears the element', async () => {
    const page = await openPage('pages/feedback/feedback')
    await pickLicenceItem(page)
    await page.tap('#element-materials')
    await page.pick('#material-picker', '0')
    await page.tap('#element-time_limit')
    expect(page.exists('#material-picker')).toBe(false)

    await page.tap('#clear-item')
    expect(page.exists('#elements')).toBe(false)
    await pickLicenceItem(page)
    expect(page.comp.querySelectorAll('#elements .choice.active')).toHaveLength(0)

    await page.tap('#element-fees')
    await page.input('#content', '建议在办事指南中写明收费依据')
    await page.tap('#submit')
    expect(creates()[0].data).toEqual({
      content: '建议在办事指南中写明收费依据',
      kind: 'suggestion',
      service_item_id: 1,
      element: 'fees',
    })
  })

  test('an item from the link is preselected', async () => {
    const page = await openPage('pages/feedback/feedback', { service_item_id: '1' })

    expect(page.text('#item-chip')).toContain('营业执照核发（个体工商户）')
    await page.tap('#element-materials')
    // The guide read for the name is reused for the materials list.
    expect(wx.requestsTo('GET', '/api/v1/service-items/1')).toHaveLength(1)
    expect(page.$('#material-picker').data.range).toHaveLength(3)
  })

  test('a general suggestion needs no item', async () => {
    const page = await openPage('pages/feedback/feedback')
    await page.input('#content', '建议服务专区周六也开放窗口')

    await page.tap('#submit')

    expect(creates()[0].data).toEqual({ content: '建议服务专区周六也开放窗口', kind: 'suggestion' })
  })

  test('a timeout keeps the key for the retry; a refusal (422) is shown under the text', async () => {
    backend.createAnswers.push({ store: false, response: { networkError: 'request:fail timeout' } })
    backend.createAnswers.push({
      store: false,
      response: jsonError(422, 'content_risky', '内容含有不适宜发布的信息，请修改后再提交',
        [{ field: 'content', message: '内容含有不适宜发布的信息，请修改后再提交' }]),
    })
    const page = await openPage('pages/feedback/feedback')
    await page.input('#content', OPINION)

    await page.tap('#submit')
    expect(page.text('#form-error')).toBe('网络超时，请稍后重试。再次提交不会重复受理')
    await page.tap('#submit')
    expect(page.text('#content-error')).toBe('内容含有不适宜发布的信息，请修改后再提交')
    expect(page.$('#content').data.value).toBe(OPINION)
    await page.tap('#submit')

    const keys = creates().map((r) => r.header['Idempotency-Key'])
    expect(new Set(keys).size).toBe(1)
    expect(keys).toHaveLength(3)
    expect(backend.cases.size).toBe(1)
    expect(wx.navigations).toHaveLength(1)
  })
})
