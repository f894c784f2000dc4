const { request, showError } = require('./request')

/**
 * The data keys one paged list uses on its page. A page with two lists (政策:
 * 为我推荐 and 全部政策) gives the second list its own names.
 */
const LIST_KEYS = {
  items: 'items',
  total: 'total',
  page: 'page',
  hasMore: 'hasMore',
  loading: 'loading',
  loaded: 'loaded',
  error: 'error',
}

/**
 * One paged list of a page: first page, next pages on reaching the bottom,
 * and the rules every list in the mini-program follows, written once.
 *
 * - Each load gets a number; an answer to a superseded load (a filter tapped
 *   again, a tab switched, a refresh) is dropped, so the screen never shows
 *   the results of an older request over a newer one.
 * - A failed first page shows the error in place (with 重试); a failed next
 *   page keeps what is on screen and shows a toast.
 * - Without a total from the server, a short page is the last one.
 *
 * `fetch(page)` returns the response body (`items`, `total`); `row` turns an
 * item into what the template shows; `loaded(body, items)` adds page data on
 * success (badges, flags); `firstPageError(err)` may return the data to show
 * instead of the generic error (a visitor guided to 企业认证, say).
 */
function pagedList(page, { fetch, row, keys = LIST_KEYS, pageSize = 20, loaded, firstPageError }) {
  let seq = 0

  async function load(n) {
    seq += 1
    const mine = seq
    page.setData({ [keys.loading]: true, [keys.error]: n === 1 ? '' : page.data[keys.error] })
    try {
      const body = await fetch(n)
      if (mine !== seq) return
      const rows = (body.items || []).map(row)
      const items = n === 1 ? rows : page.data[keys.items].concat(rows)
      const total = Number(body.total)
      const known = body.total !== undefined && body.total !== null && Number.isFinite(total)
      page.setData({
        [keys.items]: items,
        [keys.total]: known ? total : items.length,
        [keys.page]: n,
        [keys.hasMore]: rows.length > 0 && (known ? items.length < total : rows.length >= pageSize),
        [keys.loading]: false,
        [keys.loaded]: true,
        ...(loaded ? loaded(body, items) : {}),
      })
    } catch (err) {
      if (mine !== seq) return
      if (n > 1) {
        page.setData({ [keys.loading]: false })
        showError(err)
        return
      }
      const instead = firstPageError ? firstPageError(err) : null
      page.setData({
        [keys.items]: [],
        [keys.total]: 0,
        [keys.hasMore]: false,
        [keys.loading]: false,
        [keys.loaded]: true,
        [keys.error]: err.message || '加载失败',
        ...(instead || {}),
      })
    }
  }

  return {
    /** Reloads from the first page (a search, a refresh, a tab switch). */
    reload() {
      return load(1)
    },
    /** The next page, unless one is loading or there is none. */
    more() {
      if (page.data[keys.loading] || !page.data[keys.hasMore]) return Promise.resolve()
      return load(page.data[keys.page] + 1)
    },
  }
}

/** The keys of a second list whose data names start with `prefix` (feed, feedTotal, …). */
function prefixedKeys(prefix) {
  const cap = (k) => prefix + k.charAt(0).toUpperCase() + k.slice(1)
  return {
    items: prefix,
    total: cap('total'),
    page: cap('page'),
    hasMore: cap('hasMore'),
    loading: cap('loading'),
    loaded: cap('loaded'),
    error: cap('error'),
  }
}

/**
 * What the two search pages (首页 事项 and 全部政策) share: a keyword box, a
 * department filter and a paged result list in `this.list`. Spread into
 * Page({...}); the page adds its own filters and `query(page)`.
 */
const searchPage = {
  async loadDepartments() {
    try {
      const body = await request({ api: 'departments' })
      const departments = (body.items || []).map((d) => ({ code: d.code, label: d.short_name || d.name }))
      this.setData({ departments })
    } catch (err) {
      // The filter is a convenience: searching still works without it, and the
      // result list already reports a network problem if there is one.
    }
  },

  search() {
    return this.list.reload()
  },

  loadMore() {
    return this.list.more()
  },

  onKeywordInput(e) {
    this.setData({ keyword: e.detail.value })
  },

  onSearch() {
    return this.search()
  },

  onClearKeyword() {
    this.setData({ keyword: '' })
    return this.search()
  },

  onDepartmentTap(e) {
    const code = e.currentTarget.dataset.code || ''
    // Tapping the selected department again clears the filter.
    this.setData({ department: code === this.data.department ? '' : code })
    return this.search()
  },

  onRetry() {
    return this.search()
  },
}

module.exports = { pagedList, prefixedKeys, searchPage, LIST_KEYS }
