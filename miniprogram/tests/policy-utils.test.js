const { beijingDateTime, expiresText, presentMatch, policyRow } = require('../utils/format')
const { resultsOf } = require('../utils/subscribe')
const { unreadOf, setUnreadBadge } = require('../utils/badge')

describe('policy formatting', () => {
  test('times are shown in Beijing time whatever offset the server uses', () => {
    expect(beijingDateTime('2024-05-01T16:30:00Z')).toBe('2024-05-02 00:30')
    expect(beijingDateTime('2024-05-01T09:30:00+08:00')).toBe('2024-05-01 09:30')
    expect(beijingDateTime('')).toBe('')
    expect(beijingDateTime(null)).toBe('')
  })

  test('no expiry date means 长期有效', () => {
    expect(expiresText(null)).toBe('长期有效')
    expect(expiresText('2025-12-31')).toBe('有效期至 2025-12-31')
  })

  test('missing conditions are joined into one 还差 line', () => {
    const match = presentMatch({
      score: 60,
      reasons: ['行业符合'],
      missing: [{ field: 'employees', message: '请填写从业人员数' }, { field: 'revenue', message: '请填写上年营业收入' }],
    })
    expect(match).toEqual({
      eligible: true,
      score: 60,
      reasons: ['行业符合'],
      missing: ['请填写从业人员数', '请填写上年营业收入'],
      missingText: '还差：请填写从业人员数；请填写上年营业收入',
    })
    expect(presentMatch(null)).toBeNull()
  })

  test('the server\'s type_label wins over the local table', () => {
    expect(policyRow({ id: 1, title: 't', policy_type: 'subsidy', type_label: '资金奖补' }).typeLabel).toBe('资金奖补')
  })

  test('an unknown policy type is shown as sent rather than hidden', () => {
    expect(policyRow({ id: 1, title: 't', policy_type: 'loan' }).typeLabel).toBe('loan')
    expect(policyRow({ id: 1, title: 't', policy_type: 'right' }).typeLabel).toBe('权益')
  })
})

describe('subscribe results', () => {
  test('only the templates asked for and the outcomes the server knows are reported', () => {
    const answer = { errMsg: 'requestSubscribeMessage:ok', a: 'accept', b: 'reject', c: 'accept', d: 'weird' }
    expect(resultsOf(['a', 'b', 'd'], answer)).toEqual([
      { template_id: 'a', outcome: 'accept' },
      { template_id: 'b', outcome: 'reject' },
    ])
    expect(resultsOf(['a'], undefined)).toEqual([])
  })
})

describe('the 消息 tab badge', () => {
  test('uses the server\'s unread count, or counts unread rows when it is absent', () => {
    expect(unreadOf({ unread: 4, items: [] })).toBe(4)
    expect(unreadOf({ unread_count: 2 })).toBe(2)
    expect(unreadOf({ items: [{ read_at: null }, { read_at: '2024-01-01T00:00:00Z' }, {}] })).toBe(2)
    expect(unreadOf(null)).toBe(0)
  })

  test('caps the badge at 99+ and removes it at zero', () => {
    setUnreadBadge(120)
    expect(wx.tabBadges).toEqual({ 2: '99+' })
    setUnreadBadge(0)
    expect(wx.tabBadges).toEqual({})
  })
})
