const { openPage } = require('./helpers/page')
const { flush, jsonError } = require('./helpers/wx-mock')
const { VISITOR, OWNER } = require('./helpers/fixtures')
const { installConsultBackend, OPTIONS } = require('./helpers/consult-fixtures')

const QUESTION = '个体户营业执照可以网上办理吗？需要带哪些材料？'
const KEY_PATTERN = /^[A-Za-z0-9_.:-]{8,64}$/

function creates() {
  return wx.requestsTo('POST', '/api/v1/consultations')
}

describe('我要咨询', () => {
  let backend

  beforeEach(() => {
    backend = installConsultBackend(wx)
  })

  test('shows a live character count against the server\'s maximum', async () => {
    wx.on('GET', '/api/v1/reference/consultation-options', { status: 200, body: { ...OPTIONS, max_chars: 300 } })
    const page = await openPage('pages/consult-ask/consult-ask')

    expect(page.text('#count')).toBe('0/300')
    expect(page.$('#content').data.maxlength).toBe(300)
    await page.input('#content', '  营业执照怎么办？ ')
    expect(page.text('#count')).toBe('8/300')
    expect(page.text('.tip')).toContain('咨询一般在 3 个工作日内答复')
  })

  test('an empty or too short question is refused before anything is sent', async () => {
    const page = await openPage('pages/consult-ask/consult-ask')

    await page.tap('#submit')
    expect(page.text('#content-error')).toBe('请填写您要咨询的问题')

    await page.input('#content', '执照？')
    await page.tap('#submit')
    expect(page.text('#content-error')).toBe('您要咨询的问题至少 5 个字')
    expect(creates()).toHaveLength(0)
    expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()
  })

  test('a question over the limit is refused with the count shown', async () => {
    wx.on('GET', '/api/v1/reference/consultation-options', { status: 200, body: { ...OPTIONS, max_chars: 50 } })
    const page = await openPage('pages/consult-ask/consult-ask')

    await page.input('#content', '问'.repeat(51))
    await page.tap('#submit')

    expect(page.text('#content-error')).toBe('您要咨询的问题不能超过 50 个字（当前 51 个字）')
    expect(creates()).toHaveLength(0)
  })

  test('submitting sends an Idempotency-Key, asks for the answer notice and opens the new case', async () => {
    const page = await openPage('pages/consult-ask/consult-ask')

    await page.input('#content', QUESTION)
    await page.tap('#submit')

    const [sent] = creates()
    expect(sent.header['Idempotency-Key']).toMatch(KEY_PATTERN)
    expect(sent.data).toEqual({ content: QUESTION, kind: 'consultation' })
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['sandbox-tpl-notice'])
    expect(wx.requestsTo('POST', '/api/v1/subscriptions/results')[0].data)
      .toEqual({ results: [{ template_id: 'sandbox-tpl-notice', outcome: 'accept' }] })
    expect(wx.navigations).toEqual([{ type: 'redirectTo', url: '/pages/consult-detail/consult-detail?id=401&created=1' }])
    expect(backend.cases.size).toBe(1)
  })

  test('a refused subscription does not hold the question back', async () => {
    wx.subscribeAnswer = { fail: { errCode: 20004, errMsg: 'requestSubscribeMessage:fail' } }
    const page = await openPage('pages/consult-ask/consult-ask')

    await page.input('#content', QUESTION)
    await page.tap('#submit')

    expect(creates()).toHaveLength(1)
    expect(wx.requestsTo('POST', '/api/v1/subscriptions/results')).toHaveLength(0)
    expect(wx.navigations[0].url).toBe('/pages/consult-detail/consult-detail?id=401&created=1')
  })

  test('the button is disabled while sending, and a double tap files one case', async () => {
    let release
    const held = new Promise((resolve) => { release = resolve })
    backend.createAnswers.push({ store: true, response: held })
    const page = await openPage('pages/consult-ask/consult-ask')
    await page.input('#content', QUESTION)

    page.$('#submit').dispatchEvent('tap')
    page.$('#submit').dispatchEvent('tap')
    await flush()

    expect(page.$('#submit').data.disabled).toBe(true)
    expect(page.$('#submit').data.loading).toBe(true)
    expect(creates()).toHaveLength(1)

    release({ status: 201, body: backend.cases.get(401) })
    await flush()
    expect(page.$('#submit').data.disabled).toBe(false)
    expect(wx.navigations).toHaveLength(1)
  })

  test('after a timeout the retry reuses the key, so the case that did arrive is not filed twice', async () => {
    backend.createAnswers.push({ store: true, response: { networkError: 'request:fail timeout' } })
    const page = await openPage('pages/consult-ask/consult-ask')
    await page.input('#content', QUESTION)

    await page.tap('#submit')
    expect(page.text('#form-error')).toBe('网络超时，请稍后重试。再次提交不会重复受理')
    expect(page.$('#content').data.value).toBe(QUESTION)
    expect(wx.navigations).toHaveLength(0)

    await page.tap('#submit')
    const [first, second] = creates()
    expect(second.header['Idempotency-Key']).toBe(first.header['Idempotency-Key'])
    expect(backend.cases.size).toBe(1)
    expect(wx.navigations).toEqual([{ type: 'redirectTo', url: '/pages/consult-detail/consult-detail?id=401&created=1' }])
    // The subscribe popup is offered once per draft, not at every retry.
    expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1)
  })

  test('text edited after a lost answer: told the first one was filed, and a new key sends the new text', async () => {
    backend.createAnswers.push({ store: true, response: { networkError: 'request:fail timeout' } })
    const page = await openPage('pages/consult-ask/consult-ask')
    await page.input('#content', QUESTION)
    await page.tap('#submit')

    await page.input('#content', `${QUESTION}（补充：经营范围含食品）`)
    await page.tap('#submit')
    expect(page.text('#form-error')).toBe('您之前提交的内容已受理，请先到“我的咨询”查看；如确需再次提交，请再点一次提交')
    expect(wx.navigations).toHaveLength(0)

    await page.tap('#submit')
    const keys = creates().map((r) => r.header['Idempotency-Key'])
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).not.toBe(keys[0])
    expect(keys[2]).toMatch(KEY_PATTERN)
    expect(backend.cases.size).toBe(2)
    expect(wx.navigations[0].url).toBe('/pages/consult-detail/consult-detail?id=402&created=1')
  })

  test('refused content (422) is explained under the text, which stays editable', async () => {
    backend.createAnswers.push({
      store: false,
      response: jsonError(422, 'content_risky', '内容含有不适宜发布的信息（辱骂），请修改后再提交', [
        { field: 'content', message: '内容含有不适宜发布的信息（辱骂），请修改后再提交', code: 'content_risky' },
      ]),
    })
    const page = await openPage('pages/consult-ask/consult-ask')
    await page.input('#content', QUESTION)

    await page.tap('#submit')

    expect(page.text('#content-error')).toBe('内容含有不适宜发布的信息（辱骂），请修改后再提交')
    expect(page.$('#content').data.value).toBe(QUESTION)
    expect(wx.navigations).toHaveLength(0)

    await page.input('#content', `${QUESTION}谢谢`)
    expect(page.exists('#content-error')).toBe(false)
    await page.tap('#submit')
    expect(creates()[1].data.content).toBe(`${QUESTION}谢谢`)
    expect(creates()[1].header['Idempotency-Key']).toBe(creates()[0].header['Idempotency-Key'])
    expect(wx.navigations[0].url).toBe('/pages/consult-detail/consult-detail?id=401&created=1')
  })

  test('the rate limit (429) is shown as the server words it', async () => {
    backend.createAnswers.push({
      store: false,
      response: jsonError(429, 'consultation_rate_limited', '提交过于频繁：每小时最多 20 条，请稍后再试'),
    })
    const page = await openPage('pages/consult-ask/consult-ask')
    await page.input('#content', QUESTION)

    await page.tap('#submit')

    expect(page.text('#form-error')).toBe('提交过于频繁：每小时最多 20 条，请稍后再试')
    expect(page.$('#content').data.value).toBe(QUESTION)
  })

  test('a visitor is told to register the enterprise first and taken there', async () => {
    backend.user = VISITOR
    const page = await openPage('pages/consult-ask/consult-ask')
    await page.input('#content', QUESTION)

    await page.tap('#submit')

    expect(wx.showModal.mock.calls[0][0].content).toBe('请先完成企业认证或加入企业后再提交')
    expect(wx.navigations).toEqual([{ type: 'navigateTo', url: '/pages/enterprise/enterprise' }])
    expect(page.text('#need-enterprise')).toContain('提交咨询需要先完成企业认证或加入企业')
    expect(page.$('#content').data.value).toBe(QUESTION)
  })

  test('enterprise_required (403) shows the server\'s message', async () => {
    backend.user = { ...OWNER, enterprise_id: null }
    const page = await openPage('pages/consult-ask/consult-ask')
    await page.input('#content', QUESTION)

    await page.tap('#submit')

    expect(page.text('#form-error')).toBe('请先完善企业信息后再提交咨询')
  })

  test('an item or policy passed in the link is preselected and sent with the question', async () => {
    const page = await openPage('pages/consult-ask/consult-ask', { service_item_id: '1', policy_id: '11' })

    expect(page.text('#item-chip')).toContain('营业执照核发（个体工商户）')
    expect(page.text('#policy-chip')).toContain('小微企业稳岗返还')
    // Opening the policy here is not a read receipt.
    expect(wx.requestsTo('GET', '/api/v1/policies/11')[0].query).toEqual({})

    await page.input('#content', QUESTION)
    await page.tap('#submit')
    expect(creates()[0].data).toEqual({ content: QUESTION, kind: 'consultation', service_item_id: 1, policy_id: 11 })
  })

  test('the related item is found with the catalogue search and can be removed again', async () => {
    const page = await openPage('pages/consult-ask/consult-ask')

    await page.tap('#item-search')
    expect(page.text('#search-error')).toBe('请输入事项名称关键词')

    await page.input('#item-query', '参保')
    await page.tap('#item-search')
    expect(wx.requestsTo('GET', '/api/v1/service-items')[0].query).toEqual({ q: '参保', page_size: '10' })
    expect(page.texts('.result')).toEqual(['单位参保登记 · 人社'])

    await page.tap('#item-result-2')
    expect(page.text('#item-chip')).toContain('单位参保登记')
    await page.tap('#clear-item')
    expect(page.exists('#item-chip')).toBe(false)

    await page.input('#item-query', '不存在的事项')
    await page.tap('#item-search')
    expect(page.text('#no-results')).toBe('没有找到相关事项，可直接提交问题')
  })

  test('a picked item is sent as service_item_id', async () => {
    const page = await openPage('pages/consult-ask/consult-ask')
    await page.input('#item-query', '参保')
    await page.tap('#item-search')
    await page.tap('#item-result-2')
    await page.input('#content', '新员工参保登记需要多久办完？')

    await page.tap('#submit')

    expect(creates()[0].data).toEqual({ content: '新员工参保登记需要多久办完？', kind: 'consultation', service_item_id: 2 })
  })
})
