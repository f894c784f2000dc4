const { jsonError } = require('./helpers/wx-mock')
const { OWNER } = require('./helpers/fixtures')
const consult = require('../utils/consult')

describe('consultation helpers', () => {
  test('the answer date is read in Beijing time whatever offset the server uses', () => {
    expect(consult.dueText('2024-05-09T23:59:59+08:00')).toBe('预计 5月9日 前答复')
    // 16:00 UTC is already the next day in Beijing.
    expect(consult.dueText('2024-09-30T16:00:00Z')).toBe('预计 10月1日 前答复')
    expect(consult.dueText('')).toBe('')
  })

  test('the deadline line: 已超期 first, 预计 only while an answer is owed', () => {
    const due = '2024-05-09T23:59:59+08:00'
    expect(consult.deadlineOf({ status: 'assigned', due_at: due, overdue: true })).toEqual({ text: '已超期', overdue: true })
    expect(consult.deadlineOf({ status: 'reopened', due_at: due, overdue: false }).text).toBe('预计 5月9日 前答复')
    expect(consult.deadlineOf({ status: 'answered', due_at: due, overdue: false }).text).toBe('答复期限 5月9日')
  })

  test('content is counted as the server counts it and checked against both limits', () => {
    expect(consult.charCount('  营业执照😀 ')).toBe(5)
    expect(consult.validateContent('   ', 100, '问题')).toBe('请填写问题')
    expect(consult.validateContent('执照？', 100, '问题')).toBe('问题至少 5 个字')
    expect(consult.validateContent('营业执照怎么办', 6, '问题')).toBe('问题不能超过 6 个字（当前 7 个字）')
    expect(consult.validateContent('营业执照怎么办', 2000, '问题')).toBeNull()
  })

  test('idempotency keys fit the server\'s pattern and differ per draft', () => {
    const keys = Array.from({ length: 50 }, () => consult.newIdempotencyKey())
    keys.forEach((k) => expect(k).toMatch(/^[A-Za-z0-9_.:-]{8,64}$/))
    expect(new Set(keys).size).toBe(50)
  })
})

describe('request headers', () => {
  test('extra headers such as Idempotency-Key are sent again on the retry after a 401', async () => {
    jest.resetModules()
    const { request } = require('../utils/request')
    let issued = 0
    wx.on('POST', '/api/v1/auth/wechat-login', () => {
      issued += 1
      return { status: 200, body: { token: `token-${issued}`, user: OWNER } }
    })
    wx.storage.set('auth_token', 'expired-token')
    wx.on('POST', '/api/v1/consultations', (req) => (req.header.Authorization === 'Bearer expired-token'
      ? jsonError(401, 'unauthenticated', '登录已失效')
      : { status: 201, body: { id: 401 } }))

    await request({ api: 'createConsultation', data: { content: '营业执照怎么办', kind: 'consultation' }, header: { 'Idempotency-Key': 'mp-abc-12345' } })

    const sent = wx.requestsTo('POST', '/api/v1/consultations')
    expect(sent.map((r) => r.header['Idempotency-Key'])).toEqual(['mp-abc-12345', 'mp-abc-12345'])
    expect(sent[1].header.Authorization).toBe('Bearer token-1')
    expect(sent[1].header['Content-Type']).toBe('application/json')
  })
})
