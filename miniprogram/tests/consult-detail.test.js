const { openPage } = require('./helpers/page')
const { jsonError } = require('./helpers/wx-mock')
const { installConsultBackend, consultation, actionsFor, STAFF_ANSWER } = require('./helpers/consult-fixtures')

// A fresh copy per test: the fake backend changes the cases it holds.
const answered = () => consultation({ id: 302, status: 'answered', messages: [STAFF_ANSWER] })
const QUESTION = answered().content

function withStatus(status, overrides) {
  return consultation({ id: 310, status, messages: [STAFF_ANSWER], ...overrides })
}

function buttons(page) {
  return ['#resolve', '#reopen', '#withdraw', '#reply', '#rating-panel'].filter((s) => page.exists(s))
}

describe('咨询详情', () => {
  let backend

  beforeEach(() => {
    backend = installConsultBackend(wx, { cases: [consultation({ id: 301 }), answered()] })
  })

  test('right after filing it promises the answer date', async () => {
    const page = await openPage('pages/consult-detail/consult-detail', { id: '301', created: '1' })

    expect(page.text('#created-note')).toBe('提交成功，预计 5月9日 前答复')
    expect(page.text('#deadline')).toBe('预计 5月9日 前答复')
    expect(page.text('#status')).toBe('办理中')
    expect(page.text('#kind')).toBe('咨询')
    expect(page.text('#item-name')).toBe('营业执照核发（个体工商户）')
  })

  test('a case held for content review says it is being reviewed', async () => {
    backend.cases.set(320, consultation({ id: 320, status: 'new', moderation: 'held' }))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '320', created: '1' })

    expect(page.text('#created-note')).toBe('提交成功。您的内容正在审核，审核通过后将尽快为您办理')
    expect(page.text('#moderation-note')).toBe('内容正在审核，审核通过后将尽快为您办理')
  })

  test('an ordinary visit shows no filing note, and an overdue case says so', async () => {
    backend.cases.set(330, consultation({ id: 330, overdue: true, time_left_seconds: -7200 }))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '330' })

    expect(page.exists('#created-note')).toBe(false)
    expect(page.text('#deadline')).toBe('已超期')
    expect(page.$('#deadline').dom.className).toContain('overdue')
  })

  test('the thread puts the enterprise on the right and staff on the left as 咨询服务人员', async () => {
    const page = await openPage('pages/consult-detail/consult-detail', { id: '302' })

    const rows = page.comp.querySelectorAll('.bubble-row')
    expect(rows.map((r) => r.dom.className.replace('bubble-row', '').trim())).toEqual(['right', 'left'])
    expect(page.texts('.bubble')).toEqual([QUESTION, STAFF_ANSWER.body])
    expect(page.texts('.author')).toEqual(['我 · 2024-05-06 10:00', '咨询服务人员 · 2024-05-07 09:30'])
  })

  test.each([
    ['assigned', ['#withdraw', '#reply']],
    ['answered', ['#resolve', '#withdraw', '#reply']],
    ['awaiting_enterprise', ['#withdraw', '#reply']],
    ['resolved', ['#reopen', '#rating-panel']],
    ['withdrawn', []],
  ])('in status %s only the allowed actions are offered', async (status, expected) => {
    backend.cases.set(310, withStatus(status))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '310' })

    expect(buttons(page)).toEqual(expected)
  })

  test('a closed case whose rating can no longer be changed shows the rating without an edit link', async () => {
    const rating = { score: 2, label: '不满意', comment: '答复太慢', created_at: '2024-04-01T10:00:00+08:00', changeable_until: '2024-04-08T10:00:00+08:00' }
    backend.cases.set(310, withStatus('closed', { rating, actions: ['reopen'] }))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '310' })

    expect(page.text('#rating')).toBe('我的评价 ★ ★ ★ ★ ★ 不满意 答复太慢')
    expect(page.comp.querySelectorAll('#rating .star.on')).toHaveLength(2)
    expect(page.exists('#edit-rating')).toBe(false)
    expect(page.exists('#rating-panel')).toBe(false)
  })

  test('a follow-up question is sent and the thread and status are updated', async () => {
    const page = await openPage('pages/consult-detail/consult-detail', { id: '302' })
    expect(page.text('#reply-hint')).toBe('对答复还有疑问？可以继续追问')
    expect(page.text('#send')).toBe('追问')

    await page.tap('#send')
    expect(page.text('#reply-error')).toBe('请输入要发送的内容')

    await page.input('#reply-box', '  网办时需要上传哪些照片？ ')
    await page.tap('#send')

    expect(wx.requestsTo('POST', '/api/v1/consultations/302/messages')[0].data).toEqual({ body: '网办时需要上传哪些照片？' })
    expect(page.texts('.bubble')[2]).toBe('网办时需要上传哪些照片？')
    expect(page.text('#status')).toBe('办理中')
    expect(page.$('#reply-box').data.value).toBe('')
    expect(wx.toasts).toContain('已发送')
  })

  test('a refused message keeps the text and shows why', async () => {
    wx.on('POST', '/api/v1/consultations/302/messages', jsonError(422, 'content_risky', '内容含有不适宜发布的信息，请修改后再提交',
      [{ field: 'body', message: '内容含有不适宜发布的信息，请修改后再提交' }]))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '302' })

    await page.input('#reply-box', '这是一条被拒绝的消息')
    await page.tap('#send')

    expect(page.text('#reply-error')).toBe('内容含有不适宜发布的信息，请修改后再提交')
    expect(page.$('#reply-box').data.value).toBe('这是一条被拒绝的消息')
  })

  test('confirming the answer resolves the case and opens the rating panel', async () => {
    const page = await openPage('pages/consult-detail/consult-detail', { id: '302' })

    await page.tap('#resolve')

    expect(wx.showModal.mock.calls[0][0].content).toBe('确认问题已解决？确认后可以对本次服务进行评价。')
    expect(wx.requestsTo('POST', '/api/v1/consultations/302/resolve')[0].data).toEqual({})
    expect(page.text('#status')).toBe('已解决')
    expect(buttons(page)).toEqual(['#reopen', '#rating-panel'])
  })

  test('a cancelled confirmation sends nothing', async () => {
    wx.showModal.mockImplementation((options) => setTimeout(() => options.success({ confirm: false, cancel: true }), 0))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '302' })

    await page.tap('#withdraw')

    expect(wx.requestsTo('POST', '/api/v1/consultations/302/withdraw')).toHaveLength(0)
    expect(page.text('#status')).toBe('已答复')
  })

  test('withdrawing sends the reason typed into the dialog', async () => {
    wx.showModal.mockImplementation((options) => setTimeout(() => options.success({ confirm: true, content: ' 已在窗口办好 ' }), 0))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '302' })

    await page.tap('#withdraw')

    expect(wx.showModal.mock.calls[0][0].editable).toBe(true)
    expect(wx.requestsTo('POST', '/api/v1/consultations/302/withdraw')[0].data).toEqual({ reason: '已在窗口办好' })
    expect(page.text('#status')).toBe('已撤回')
    expect(buttons(page)).toEqual([])
  })

  test('an action the case no longer allows shows the server\'s reason and the current state', async () => {
    const page = await openPage('pages/consult-detail/consult-detail', { id: '302' })
    // A colleague confirmed it meanwhile.
    const c = backend.cases.get(302)
    Object.assign(c, { status: 'resolved', status_label: '已解决', actions: actionsFor('resolved') })

    await page.tap('#withdraw')

    expect(wx.toasts).toContain('该事项当前状态为“已解决”，不能进行此操作')
    expect(page.text('#status')).toBe('已解决')
    expect(buttons(page)).toEqual(['#reopen', '#rating-panel'])
  })

  test('rating: stars show their label, a score is required, and the rating is shown after saving', async () => {
    backend.cases.set(310, withStatus('resolved'))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '310' })
    expect(page.text('#score-label')).toBe('点击星星评分')

    await page.tap('#submit-rating')
    expect(page.text('#rating-error')).toBe('请点击星星选择满意程度')
    expect(wx.requestsTo('PUT', '/api/v1/consultations/310/rating')).toHaveLength(0)

    await page.tap('#star-2')
    expect(page.text('#score-label')).toBe('不满意')
    await page.tap('#star-4')
    expect(page.text('#score-label')).toBe('满意')
    expect(page.comp.querySelectorAll('#rating-panel .star.on')).toHaveLength(4)
    await page.input('#rating-comment-box', ' 答复很清楚 ')
    await page.tap('#submit-rating')

    expect(wx.requestsTo('PUT', '/api/v1/consultations/310/rating')[0].data).toEqual({ score: 4, comment: '答复很清楚' })
    expect(page.exists('#rating-panel')).toBe(false)
    expect(page.text('#rating-label')).toBe('满意')
    expect(page.text('#rating-comment')).toBe('答复很清楚')
    expect(page.text('#rating')).toContain('5月15日前可以修改评价')
    expect(page.text('#status')).toBe('已办结')
    expect(wx.toasts).toContain('感谢您的评价')
  })

  test('a rating can be changed within the window, starting from the saved one', async () => {
    const rating = { score: 3, label: '基本满意', comment: '', created_at: '2024-05-08T10:00:00+08:00', changeable_until: '2024-05-15T10:00:00+08:00' }
    backend.cases.set(310, withStatus('closed', { rating, actions: ['rate', 'reopen'] }))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '310' })
    expect(page.text('#rating-label')).toBe('基本满意')

    await page.tap('#edit-rating')
    expect(page.text('#score-label')).toBe('基本满意')
    await page.tap('#star-5')
    await page.tap('#submit-rating')

    expect(wx.requestsTo('PUT', '/api/v1/consultations/310/rating')[0].data).toEqual({ score: 5, comment: '' })
    expect(page.text('#rating-label')).toBe('非常满意')
  })

  test('a refused rating comment is shown in the panel', async () => {
    wx.on('PUT', '/api/v1/consultations/310/rating', jsonError(422, 'content_risky', '评价内容含有不适宜发布的信息，请修改后再提交'))
    backend.cases.set(310, withStatus('resolved'))
    const page = await openPage('pages/consult-detail/consult-detail', { id: '310' })

    await page.tap('#star-1')
    await page.input('#rating-comment-box', '不文明的评价')
    await page.tap('#submit-rating')

    expect(page.text('#rating-error')).toBe('评价内容含有不适宜发布的信息，请修改后再提交')
    expect(page.$('#rating-comment-box').data.value).toBe('不文明的评价')
  })

  test('another enterprise\'s case (404) shows the server\'s message', async () => {
    const page = await openPage('pages/consult-detail/consult-detail', { id: '999' })

    expect(page.text()).toContain('请求的内容不存在')
  })
})
