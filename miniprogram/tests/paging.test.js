const { pagedList, prefixedKeys } = require('../utils/paging')

// A page as the helper sees it: data plus setData, nothing of the framework.
function fakePage(data) {
  return {
    data: { items: [], page: 0, hasMore: false, loading: false, loaded: false, error: '', ...data },
    setData(patch) {
      Object.assign(this.data, patch)
    },
  }
}

function deferred() {
  let resolve
  let reject
  const promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('one paged list', () => {
  test('the next page is appended and the list stops at the total', async () => {
    const page = fakePage()
    const bodies = { 1: { items: [1, 2], total: 3 }, 2: { items: [3], total: 3 } }
    const list = pagedList(page, { fetch: async (n) => bodies[n], row: (x) => ({ id: x }) })
    await list.reload()
    expect(page.data.items.map((r) => r.id)).toEqual([1, 2])
    expect(page.data.hasMore).toBe(true)
    await list.more()
    expect(page.data.items.map((r) => r.id)).toEqual([1, 2, 3])
    expect(page.data.hasMore).toBe(false)
    // Nothing more to ask for: no request is sent.
    const fetch = jest.fn()
    await pagedList(page, { fetch, row: (x) => x }).more()
    expect(fetch).not.toHaveBeenCalled()
  })

  test('an answer to a superseded request never replaces the newer one', async () => {
    const page = fakePage()
    const slow = deferred()
    const calls = []
    const list = pagedList(page, {
      fetch: (n) => {
        calls.push(n)
        return calls.length === 1 ? slow.promise : Promise.resolve({ items: ['新'], total: 1 })
      },
      row: (x) => x,
    })
    const first = list.reload()
    await list.reload()
    slow.resolve({ items: ['旧'], total: 1 })
    await first
    expect(page.data.items).toEqual(['新'])
  })

  test('a failed next page keeps what is on screen and shows a toast', async () => {
    const page = fakePage()
    let fail = false
    const list = pagedList(page, {
      fetch: async () => {
        if (fail) throw Object.assign(new Error('网络不给力'), { name: 'ApiError' })
        return { items: [1, 2], total: 4 }
      },
      row: (x) => x,
    })
    await list.reload()
    fail = true
    await list.more()
    expect(page.data.items).toEqual([1, 2])
    expect(page.data.error).toBe('')
    expect(page.data.loading).toBe(false)
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '网络不给力' }))
  })

  test('a failed first page shows the error in place, or what the page prefers', async () => {
    const page = fakePage({ items: ['旧'] })
    const err = Object.assign(new Error('请先完成企业认证'), { status: 404 })
    await pagedList(page, { fetch: async () => { throw err }, row: (x) => x }).reload()
    expect(page.data).toMatchObject({ items: [], hasMore: false, loaded: true, error: '请先完成企业认证' })

    const guided = fakePage()
    await pagedList(guided, {
      fetch: async () => { throw err },
      row: (x) => x,
      firstPageError: (e) => ({ error: '', needEnterprise: e.status === 404 }),
    }).reload()
    expect(guided.data).toMatchObject({ error: '', needEnterprise: true })
  })

  test('without a total a short page is the last one', async () => {
    const page = fakePage()
    const list = pagedList(page, { fetch: async () => ({ items: [1, 2, 3] }), row: (x) => x, pageSize: 3 })
    await list.reload()
    expect(page.data.hasMore).toBe(true)
    const short = pagedList(page, { fetch: async () => ({ items: [1] }), row: (x) => x, pageSize: 3 })
    await short.reload()
    expect(page.data.hasMore).toBe(false)
  })

  test('a second list on the same page keeps to its own data names', async () => {
    const page = fakePage({ feed: [], feedPage: 0 })
    await pagedList(page, {
      keys: prefixedKeys('feed'),
      fetch: async () => ({ items: ['政策'], total: 1 }),
      row: (x) => x,
      loaded: (body, feed) => ({ feedCount: feed.length }),
    }).reload()
    expect(page.data).toMatchObject({ feed: ['政策'], feedTotal: 1, feedPage: 1, feedHasMore: false, feedLoaded: true, feedCount: 1 })
    expect(page.data.items).toEqual([])
  })
})
