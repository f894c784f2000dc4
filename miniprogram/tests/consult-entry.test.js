// Ways into the consultation pages from elsewhere: 我的, 事项详情, 政策详情.
const { openPage } = require('./helpers/page')
const { installConsultBackend } = require('./helpers/consult-fixtures')
const { OWNER, enterprise } = require('./helpers/fixtures')

beforeEach(() => {
  installConsultBackend(wx, { user: OWNER })
  wx.on('GET', '/api/v1/enterprises/42', { status: 200, body: enterprise() })
})

test('我的 offers 我的咨询 and 意见建议', async () => {
  const page = await openPage('pages/mine/mine')

  expect(page.text('#services')).toBe('咨询服务 我的咨询 办理进度、答复与评价 › 意见建议 对办事事项提建议或投诉 ›')
  await page.tap('#my-consultations')
  await page.tap('#services #feedback-link')
  expect(wx.navigations).toEqual([
    { type: 'navigateTo', url: '/pages/consult-list/consult-list' },
    { type: 'navigateTo', url: '/pages/feedback/feedback' },
  ])
})

test('事项详情 opens 我要咨询 and 意见建议 with the item chosen', async () => {
  const page = await openPage('pages/item-detail/item-detail', { id: '2' })

  await page.tap('#ask-button')
  await page.tap('#feedback-link')
  expect(wx.navigations).toEqual([
    { type: 'navigateTo', url: '/pages/consult-ask/consult-ask?service_item_id=2' },
    { type: 'navigateTo', url: '/pages/feedback/feedback?service_item_id=2' },
  ])
})

test('政策详情 opens 我要咨询 with the policy chosen', async () => {
  const page = await openPage('pages/policy-detail/policy-detail', { id: '11' })

  expect(page.text('#consult')).toBe('对本政策有疑问？ 我要咨询')
  await page.tap('#ask-button')
  expect(wx.navigations).toEqual([{ type: 'navigateTo', url: '/pages/consult-ask/consult-ask?policy_id=11' }])
})

test('every consultation page is registered in app.json', () => {
  // eslint-disable-next-line global-require
  const { pages } = require('../app.json')
  expect(pages).toEqual(expect.arrayContaining([
    'pages/consult-ask/consult-ask',
    'pages/consult-list/consult-list',
    'pages/consult-detail/consult-detail',
    'pages/feedback/feedback',
  ]))
})
