const { openPage } = require('./helpers/page')
const { installBackend, listItem, CATALOGUE } = require('./helpers/fixtures')
const { jsonError } = require('./helpers/wx-mock')

describe('首页 service catalogue', () => {
  beforeEach(() => {
    installBackend(wx)
  })

  test('shows the catalogue with department, committed time limit and the 可网办 badge', async () => {
    const page = await openPage('pages/index/index')

    const rows = page.texts('.item')
    expect(rows).toHaveLength(3)
    expect(rows[0]).toContain('营业执照核发（个体工商户）')
    expect(rows[0]).toContain('市场监管')
    expect(rows[0]).toContain('承诺时限 3 个工作日')
    expect(rows[0]).toContain('可网办')
    expect(rows[1]).toContain('单位参保登记')
    expect(rows[1]).not.toContain('可网办')
    expect(page.text('.result-count')).toBe('共 3 个事项')
  })

  test('browsing the catalogue never asks WeChat to log in', async () => {
    await openPage('pages/index/index')

    expect(wx.login).not.toHaveBeenCalled()
    expect(wx.requestsTo('GET', '/api/v1/service-items')[0].header.Authorization).toBeUndefined()
  })

  test('offers the departments from the server as filter chips', async () => {
    const page = await openPage('pages/index/index')

    expect(page.texts('.chip')).toEqual(['全部部门', '市场监管', '人社', '税务'])
  })

  test('searching in plain Chinese sends the words as q and shows the matches', async () => {
    const page = await openPage('pages/index/index')

    await page.input('#search-input', '营业执照')
    await page.tap('#search-button')

    const last = wx.requestsTo('GET', '/api/v1/service-items').pop()
    expect(last.query).toEqual({ q: '营业执照', page: '1', page_size: '20' })
    expect(page.texts('.item .item-name')).toEqual(['营业执照核发（个体工商户） 可网办'])
    expect(page.valueOf('#search-input')).toBe('营业执照')
  })

  test('pressing the keyboard search key runs the search too', async () => {
    const page = await openPage('pages/index/index')

    await page.input('#search-input', '社保')
    await page.confirm('#search-input', '社保')

    expect(page.texts('.item .item-name')).toEqual(['单位参保登记'])
  })

  test('a search with no matches says so in plain words', async () => {
    const page = await openPage('pages/index/index')

    await page.input('#search-input', '游艇驾照')
    await page.tap('#search-button')

    expect(page.texts('.item')).toEqual([])
    expect(page.text('.no-results')).toBe('没有找到相关事项，换个说法试试')
  })

  test('clearing the search box brings the whole catalogue back', async () => {
    const page = await openPage('pages/index/index')
    await page.input('#search-input', '社保')
    await page.tap('#search-button')

    await page.tap('#search-clear')

    expect(page.texts('.item')).toHaveLength(3)
    expect(page.valueOf('#search-input')).toBe('')
  })

  test('a department chip filters the list, and tapping it again clears the filter', async () => {
    const page = await openPage('pages/index/index')

    await page.tap('#dept-tax')
    expect(wx.requestsTo('GET', '/api/v1/service-items').pop().query.department).toBe('tax')
    expect(page.texts('.item .item-name')).toEqual(['注销税务登记 可网办'])
    expect(page.text('.chip.active')).toBe('税务')

    await page.tap('#dept-tax')
    expect(wx.requestsTo('GET', '/api/v1/service-items').pop().query.department).toBeUndefined()
    expect(page.texts('.item')).toHaveLength(3)
  })

  test('life-cycle tabs 开办/经营/变更/注销 filter by stage', async () => {
    const page = await openPage('pages/index/index')

    expect(page.texts('.stage-tab')).toEqual(['全部', '开办', '经营', '变更', '注销'])
    await page.tap('#stage-close')

    expect(wx.requestsTo('GET', '/api/v1/service-items').pop().query.stage).toBe('close')
    expect(page.text('.stage-tab.active')).toBe('注销')
    expect(page.texts('.item .item-name')).toEqual(['注销税务登记 可网办'])
  })

  test('scrolling to the bottom loads the next page and appends it', async () => {
    const many = Array.from({ length: 45 }, (_, i) => listItem({ id: i + 1, name: `事项${i + 1}` }))
    wx.on('GET', '/api/v1/service-items', (req) => {
      const page = Number(req.query.page)
      return { status: 200, body: { items: many.slice((page - 1) * 20, page * 20), total: 45, page, page_size: 20 } }
    })
    const page = await openPage('pages/index/index')
    expect(page.texts('.item')).toHaveLength(20)

    await page.lifecycle('onReachBottom')
    expect(wx.requestsTo('GET', '/api/v1/service-items').pop().query.page).toBe('2')
    expect(page.texts('.item')).toHaveLength(40)

    await page.lifecycle('onReachBottom')
    expect(page.texts('.item')).toHaveLength(45)
    expect(page.text('.list-footer')).toBe('已经到底了')

    await page.lifecycle('onReachBottom')
    expect(wx.requestsTo('GET', '/api/v1/service-items')).toHaveLength(3)
  })

  test('an answer to an older search never replaces the newer one', async () => {
    let releaseSlow
    wx.on('GET', '/api/v1/service-items', (req) => {
      if (req.query.stage === 'start') {
        return new Promise((resolve) => {
          releaseSlow = () => resolve({ status: 200, body: { items: [CATALOGUE[1]], total: 1, page: 1, page_size: 20 } })
        })
      }
      return { status: 200, body: { items: [CATALOGUE[2]], total: 1, page: 1, page_size: 20 } }
    })
    const page = await openPage('pages/index/index')

    await page.tap('#stage-start')
    await page.tap('#stage-close')
    releaseSlow()
    await page.lifecycle('noop')

    expect(page.texts('.item .item-name')).toEqual(['注销税务登记 可网办'])
  })

  test('tapping a result opens its detail page', async () => {
    const page = await openPage('pages/index/index')

    await page.tap('#item-2')

    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/item-detail/item-detail?id=2' })
  })

  test('a network failure is explained in Chinese with a way to retry', async () => {
    wx.on('GET', '/api/v1/service-items', { networkError: 'request:fail timeout' })
    const page = await openPage('pages/index/index')

    expect(page.text('.load-error')).toContain('网络超时，请稍后重试')
    expect(page.exists('.no-results')).toBe(false)

    installBackend(wx)
    await page.tap('.retry')
    expect(page.texts('.item')).toHaveLength(3)
  })

  test('a server error shows the server\'s own message', async () => {
    wx.on('GET', '/api/v1/service-items', jsonError(422, 'validation_error', '每页最多50条'))
    const page = await openPage('pages/index/index')

    expect(page.text('.load-error')).toContain('每页最多50条')
  })

  test('pull-down refresh reloads and stops the spinner', async () => {
    const page = await openPage('pages/index/index')

    await page.lifecycle('onPullDownRefresh')

    expect(wx.requestsTo('GET', '/api/v1/service-items')).toHaveLength(2)
    expect(wx.stopPullDownRefresh).toHaveBeenCalled()
  })
})
