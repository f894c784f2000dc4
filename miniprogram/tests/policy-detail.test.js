const { openPage } = require('./helpers/page')
const { installPolicyBackend, OWNER, VISITOR } = require('./helpers/fixtures')
const { jsonError } = require('./helpers/wx-mock')

const MEMBER = { ...OWNER, id: 8, role: 'enterprise_member', display_name: '张会计' }

describe('政策详情 page', () => {
  let backend

  beforeEach(() => {
    backend = installPolicyBackend(wx)
  })

  test('shows title, 文号, department, dates, summary, body and 申兑指南', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    expect(wx.requestsTo('GET', '/api/v1/policies/11')).toHaveLength(1)
    expect(page.text('#policy-title')).toBe('小微企业稳岗返还')
    expect(page.text('#policy-type')).toBe('奖补')
    expect(page.text('#doc-number')).toBe('文号 深人社规〔2024〕3号')
    expect(page.text('#department')).toBe('发文部门 市人力资源和社会保障局')
    // 01:30 UTC is 09:30 in Beijing, still 2 January.
    expect(page.text('#published-at')).toBe('发布日期 2024-01-02')
    expect(page.text('#effective-on')).toBe('施行日期 2024-01-01')
    expect(page.text('#expires')).toBe('有效期 有效期至 2025-12-31')
    expect(page.text('#summary')).toBe('政策摘要 按上年度实际缴纳失业保险费的60%返还')
    expect(page.texts('#body .paragraph')).toEqual([
      '一、适用对象', '本市参加失业保险的小微企业。', '二、返还标准', '按上年度实际缴纳失业保险费的60%返还。',
    ])
    expect(page.texts('#guide .paragraph')).toEqual(['登录人社网上办事大厅提交申请。', '审核通过后返还至企业对公账户。'])
    expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '小微企业稳岗返还' })
  })

  test('explains why the policy fits and what is missing, with a link to complete the enterprise', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    expect(page.text('#match .card-title')).toBe('为什么推荐给您')
    expect(page.texts('#match .reason')).toEqual([
      '✓ 企业规模为微型，符合“小型、微型”要求',
      '✓ 注册地为深圳市（4403），符合“深圳市（4403）”要求',
    ])
    expect(page.text('#match .missing-title')).toBe('还需补充的信息')
    expect(page.texts('#match .missing')).toEqual(['· 政策要求从业人员不超过100人，请在企业资料中填写从业人员数'])

    await page.tap('#complete-profile')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise/enterprise?id=42' })
  })

  test('a policy the enterprise does not meet says so under 暂不符合的条件', async () => {
    wx.on('GET', '/api/v1/policies/13', {
      status: 200,
      body: {
        id: 13, title: '高新技术企业认定奖励', policy_type: 'qualification', department: { code: 'amr', name: '市市场监督管理局' },
        match: { eligible: false, score: 0, reasons: [], missing: [{ field: 'tags', message: '政策要求企业具有“高新技术企业”资质之一' }] },
      },
    })
    const page = await openPage('pages/policy-detail/policy-detail', { id: '13' })

    expect(page.text('#match .card-title')).toBe('与您企业的匹配情况')
    expect(page.text('#match .missing-title')).toBe('暂不符合的条件')
    // Only a qualification is missing: the way out is 企业资质, not the registration form.
    expect(page.text('#complete-tags')).toBe('去补充企业资质')
    expect(page.exists('#complete-profile')).toBe(false)
  })

  test('a missing qualification links to 企业资质, and coming back asks for the match again', async () => {
    let held = []
    wx.on('GET', '/api/v1/policies/13', () => ({
      status: 200,
      body: {
        id: 13, title: '高新技术企业认定奖励', policy_type: 'qualification', department: { code: 'amr', name: '市市场监督管理局' },
        match: held.length
          ? { eligible: true, score: 80, reasons: ['企业具有“高新技术企业”资质，符合要求'], missing: [] }
          : { eligible: false, score: 0, reasons: [], missing: [
            { field: 'tags', message: '政策要求企业具有“高新技术企业”资质之一；如已取得，请在企业资料中补充资质标签' },
            { field: 'employees', message: '请在企业资料中填写从业人员数' },
          ] },
      },
    }))
    const page = await openPage('pages/policy-detail/policy-detail', { id: '13', from: 'message' })
    // Other missing facts still lead to the enterprise form.
    expect(page.exists('#complete-profile')).toBe(true)

    await page.tap('#complete-tags')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise-tags/enterprise-tags?id=42' })

    held = ['high_tech']
    await page.lifecycle('onShow')

    const reads = wx.requestsTo('GET', '/api/v1/policies/13')
    expect(reads).toHaveLength(2)
    expect(reads[1].query).toEqual({}) // the second read is not another read receipt
    expect(page.text('#match .card-title')).toBe('为什么推荐给您')
    expect(page.exists('#complete-tags')).toBe(false)
    // An ordinary return to the page (from another app, say) does not reload it.
    await page.lifecycle('onShow')
    expect(wx.requestsTo('GET', '/api/v1/policies/13')).toHaveLength(2)
  })

  test('without an enterprise on record the qualification link leads to 企业认证', async () => {
    wx.on('GET', '/api/v1/policies/13', {
      status: 200,
      body: {
        id: 13, title: '高新技术企业认定奖励', policy_type: 'qualification',
        match: { eligible: false, score: 0, reasons: [], missing: [{ field: 'tags', message: '政策要求企业具有“高新技术企业”资质之一' }] },
      },
    })
    const page = await openPage('pages/policy-detail/policy-detail', { id: '13' })
    wx.storage.delete('enterprise_id')

    await page.tap('#complete-tags')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise/enterprise' })
  })

  test('an enterprise member is told to ask the owner instead of being sent to an edit form they cannot save', async () => {
    backend.user = MEMBER
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    expect(page.exists('#complete-profile')).toBe(false)
    expect(page.text('#ask-owner')).toBe('如信息有误，请联系企业负责人完善企业信息')
  })

  test('without a match (a visitor) there is no fit section', async () => {
    backend.user = VISITOR
    wx.on('GET', '/api/v1/policies/11', (req) => ({ status: 200, body: { id: 11, title: '小微企业稳岗返还', policy_type: 'subsidy' } }))
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    expect(page.exists('#match')).toBe(false)
    expect(page.text('#department')).toBe('发文部门')
  })

  test('linked service items open their 事项详情', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    expect(page.text('#service-items')).toBe('相关办事事项 单位参保登记 RS-010 ›')
    await page.tap('#service-item-2')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/item-detail/item-detail?id=2' })
  })

  test('an attachment\'s link is copied for opening in a browser', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    await page.tap('.attachment')

    expect(wx.setClipboardData).toHaveBeenCalledWith(expect.objectContaining({ data: 'https://hrss.example.gov.cn/files/apply.docx' }))
    expect(wx.toasts).toContain('附件链接已复制，请在浏览器中打开')
  })

  test('a policy that needs no application offers one-tap 意愿确认', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '12' })

    expect(page.text('#no-application')).toBe('免申即享')
    expect(page.text('#consent-button')).toBe('确认享受')
    expect(page.text('#expires')).toBe('有效期 长期有效')
  })

  test('tapping 确认享受 posts the consent once and shows the confirmed state', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '12' })

    await page.tap('#consent-button')

    expect(wx.requestsTo('POST', '/api/v1/policies/12/consent')).toHaveLength(1)
    expect(wx.requestsTo('POST', '/api/v1/policies/12/consent')[0].header.Authorization).toBe('Bearer token-1')
    expect(page.exists('#consent-button')).toBe(false)
    // 02:00 UTC is 10:00 in Beijing.
    expect(page.text('#consented')).toBe('已确认享受 （2024-05-02 10:00）')
    expect(wx.toasts).toContain('已确认，无需另行申报')

    await page.instance.onConsent()
    expect(wx.requestsTo('POST', '/api/v1/policies/12/consent')).toHaveLength(1)
  })

  test('a policy confirmed earlier opens in the confirmed state', async () => {
    backend.consented.add(12)
    const page = await openPage('pages/policy-detail/policy-detail', { id: '12' })

    expect(page.text('#consented')).toBe('已确认享受 （2024-05-02 10:00）')
    expect(page.exists('#consent-button')).toBe(false)
  })

  test('a refused consent shows the server\'s whole reason under the button and keeps the button', async () => {
    const reason = '贵企业不符合该政策的适用条件，不能确认享受：政策面向“小型、微型”企业，企业规模为中型'
    wx.on('POST', '/api/v1/policies/12/consent', jsonError(409, 'not_eligible', reason))
    const page = await openPage('pages/policy-detail/policy-detail', { id: '12' })

    await page.tap('#consent-button')

    expect(page.text('#consent-error')).toBe(reason)
    expect(page.exists('#consent-button')).toBe(true)
    expect(page.exists('#consented')).toBe(false)
  })

  test('a consent that fails for lack of network can be tried again', async () => {
    wx.on('POST', '/api/v1/policies/12/consent', { networkError: 'request:fail' })
    const page = await openPage('pages/policy-detail/policy-detail', { id: '12' })

    await page.tap('#consent-button')
    expect(page.text('#consent-error')).toBe('网络连接失败，请检查网络后重试')

    installPolicyBackend(wx)
    await page.tap('#consent-button')
    expect(page.exists('#consent-error')).toBe(false)
    expect(page.text('#consented')).toContain('已确认享受')
  })

  test('a policy that needs an application has no consent section', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    expect(page.exists('#consent')).toBe(false)
  })

  test('订阅提醒 asks WeChat for the policy template and reports the answer', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    await page.tap('#subscribe-button')

    expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1)
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['sandbox-tpl-policy'])
    expect(wx.requestsTo('POST', '/api/v1/subscriptions/results')[0].data).toEqual({
      results: [{ template_id: 'sandbox-tpl-policy', outcome: 'accept' }],
    })
    expect(wx.toasts).toContain('订阅成功，有新政策时将提醒您')
  })

  test('the popup is requested within the tap itself, before any network call', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })
    const before = wx.requests.length

    const done = page.instance.onSubscribe()

    // Synchronously: WeChat refuses the popup once the tap handler has returned.
    expect(wx.requestSubscribeMessage).toHaveBeenCalledTimes(1)
    expect(wx.requests.length).toBe(before)
    await done
  })

  test('a refusal is reported too, and the person is told they can subscribe later', async () => {
    wx.subscribeAnswer = { 'sandbox-tpl-policy': 'reject' }
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    await page.tap('#subscribe-button')

    expect(wx.requestsTo('POST', '/api/v1/subscriptions/results')[0].data).toEqual({
      results: [{ template_id: 'sandbox-tpl-policy', outcome: 'reject' }],
    })
    expect(wx.toasts).toContain('您未允许提醒，可随时再次订阅')
  })

  test('a template banned by WeChat is reported as ban', async () => {
    wx.subscribeAnswer = { 'sandbox-tpl-policy': 'ban' }
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    await page.tap('#subscribe-button')

    expect(wx.requestsTo('POST', '/api/v1/subscriptions/results')[0].data.results[0].outcome).toBe('ban')
  })

  test('when subscribe messages are switched off, nothing is reported and the person is told where to turn them on', async () => {
    wx.subscribeAnswer = { fail: { errCode: 20004, errMsg: 'requestSubscribeMessage:fail' } }
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    await page.tap('#subscribe-button')

    expect(wx.requestsTo('POST', '/api/v1/subscriptions/results')).toHaveLength(0)
    expect(wx.toasts).toContain('您已关闭订阅消息，请在右上角“…”→“设置”中开启')
  })

  test('a failed report does not spoil a granted subscription', async () => {
    wx.on('POST', '/api/v1/subscriptions/results', { networkError: 'request:fail' })
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

    await page.tap('#subscribe-button')

    expect(wx.toasts).toEqual(['订阅成功，有新政策时将提醒您'])
  })

  test('opened from a push, the read receipt is sent once; a refresh does not send it again', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11', from: 'message' })

    expect(wx.requestsTo('GET', '/api/v1/policies/11')[0].query).toEqual({ from: 'message' })

    await page.lifecycle('onPullDownRefresh')
    expect(wx.requestsTo('GET', '/api/v1/policies/11')[1].query).toEqual({})
    expect(wx.stopPullDownRefresh).toHaveBeenCalled()
  })

  test('opened by tapping a subscribe message whose link has no from=, it still counts as read', async () => {
    wx.enterOptions = { scene: 1014, path: 'pages/policy-detail/policy-detail', query: { id: '11' } }

    await openPage('pages/policy-detail/policy-detail', { id: '11' })

    expect(wx.requestsTo('GET', '/api/v1/policies/11')[0].query).toEqual({ from: 'message' })
  })

  test('an official-account template message (scene 1043) counts too', async () => {
    wx.enterOptions = { scene: 1043, path: '/pages/policy-detail/policy-detail', query: { id: '12' } }

    await openPage('pages/policy-detail/policy-detail', { id: '12' })

    expect(wx.requestsTo('GET', '/api/v1/policies/12')[0].query).toEqual({ from: 'message' })
  })

  test('browsing on to another policy after a push is not a read of that push', async () => {
    wx.enterOptions = { scene: 1014, path: 'pages/policy-detail/policy-detail', query: { id: '11' } }

    await openPage('pages/policy-detail/policy-detail', { id: '12' })

    expect(wx.requestsTo('GET', '/api/v1/policies/12')[0].query).toEqual({})
  })

  test('a push link\'s delivery id is forwarded with the receipt', async () => {
    await openPage('pages/policy-detail/policy-detail', { id: '11', from: 'message', delivery_id: '9001' })
    await openPage('pages/policy-detail/policy-detail', { id: '12', delivery_id: '9002' })

    expect(wx.requestsTo('GET', '/api/v1/policies/11')[0].query).toEqual({ from: 'message', delivery_id: '9001' })
    // Without from= it is not a receipt, so a stray delivery id means nothing.
    expect(wx.requestsTo('GET', '/api/v1/policies/12')[0].query).toEqual({})
  })

  test('opened from the inbox it says from=inbox; an unknown from is not forwarded', async () => {
    await openPage('pages/policy-detail/policy-detail', { id: '11', from: 'inbox' })
    await openPage('pages/policy-detail/policy-detail', { id: '12', from: 'timeline' })

    expect(wx.requestsTo('GET', '/api/v1/policies/11')[0].query).toEqual({ from: 'inbox' })
    expect(wx.requestsTo('GET', '/api/v1/policies/12')[0].query).toEqual({})
  })

  test('a withdrawn policy shows the server\'s message and can be retried', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '404' })

    expect(page.text('.load-error')).toContain('政策不存在或已失效')
    await page.tap('.retry')
    expect(wx.requestsTo('GET', '/api/v1/policies/404')).toHaveLength(2)
  })

  test('sharing shares the policy without the read-receipt marker', async () => {
    const page = await openPage('pages/policy-detail/policy-detail', { id: '11', from: 'message' })

    expect(page.instance.onShareAppMessage()).toEqual({
      title: '小微企业稳岗返还',
      path: '/pages/policy-detail/policy-detail?id=11',
    })
  })
})
