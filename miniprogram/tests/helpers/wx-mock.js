// A scriptable stand-in for the `wx` global. Tests declare backend routes,
// then drive pages and utils exactly as WeChat would, and inspect what was
// sent (requests, toasts, navigation) afterwards.

const { URL } = require('url')

function jsonError(status, code, message, details) {
  return { status, body: { error: { code, message, details: details || [] } } }
}

function createWxMock() {
  const storage = new Map()
  const routes = []
  let loginCount = 0

  const mock = {
    requests: [],
    toasts: [],
    navigations: [],
    pending: 0,
    // Set to true to make wx.login fail (no network, user blocked WeChat, …).
    loginFails: false,
    // What the subscribe popup answers: {<template id>: 'accept'|'reject'|…}
    // (null: accept every template asked for), or {fail: {errCode, errMsg}}.
    subscribeAnswer: null,
    // The unread badge on each tab index, as set by wx.setTabBarBadge.
    tabBadges: {},
    // How WeChat says the mini-program was entered (scene, path, query).
    enterOptions: { scene: 1001, path: 'pages/index/index', query: {} },

    /**
     * Register a fake backend route. `handler(req)` returns {status, body},
     * {networkError: 'request:fail …'}, or a Promise of either (to hold a
     * response back and test ordering). Later routes win, so a test can
     * override a default from its beforeEach.
     */
    on(method, path, handler) {
      const respond = typeof handler === 'function' ? handler : () => handler
      routes.unshift({ method: method.toUpperCase(), path, respond })
      return mock
    },

    /** Requests sent to METHOD path (path without host or query). */
    requestsTo(method, path) {
      return mock.requests.filter((r) => r.method === method.toUpperCase() && r.path === path)
    },

    storage,

    login: jest.fn((options) => {
      setTimeout(() => {
        if (mock.loginFails) {
          if (options.fail) options.fail({ errMsg: 'login:fail' })
          return
        }
        loginCount += 1
        if (options.success) options.success({ code: `wx-code-${loginCount}`, errMsg: 'login:ok' })
      }, 0)
    }),

    request: jest.fn((options) => {
      const parsed = new URL(options.url)
      const query = {}
      parsed.searchParams.forEach((value, key) => {
        query[key] = value
      })
      const req = {
        method: (options.method || 'GET').toUpperCase(),
        url: options.url,
        origin: parsed.origin,
        path: parsed.pathname,
        query,
        data: options.data,
        header: options.header || {},
      }
      mock.requests.push(req)
      mock.pending += 1
      const route = routes.find((r) => r.method === req.method && (
        r.path instanceof RegExp ? r.path.test(req.path) : r.path === req.path
      ))
      const answer = route
        ? Promise.resolve().then(() => route.respond(req))
        : Promise.resolve(jsonError(404, 'not_found', `测试未配置该接口：${req.method} ${req.path}`))
      answer.then((result) => {
        setTimeout(() => {
          mock.pending -= 1
          if (result && result.networkError) {
            if (options.fail) options.fail({ errMsg: result.networkError })
          } else if (options.success) {
            options.success({ statusCode: result.status, data: result.body, header: {} })
          }
        }, 0)
      })
    }),

    getStorageSync: jest.fn((key) => (storage.has(key) ? storage.get(key) : '')),
    setStorageSync: jest.fn((key, value) => {
      storage.set(key, value)
    }),
    removeStorageSync: jest.fn((key) => {
      storage.delete(key)
    }),
    clearStorageSync: jest.fn(() => storage.clear()),

    showToast: jest.fn((options) => {
      mock.toasts.push(options.title)
    }),
    showLoading: jest.fn(),
    hideLoading: jest.fn(),
    showModal: jest.fn((options) => {
      if (options.success) setTimeout(() => options.success({ confirm: true, cancel: false }), 0)
    }),
    navigateTo: jest.fn((options) => mock.navigations.push({ type: 'navigateTo', url: options.url })),
    redirectTo: jest.fn((options) => mock.navigations.push({ type: 'redirectTo', url: options.url })),
    switchTab: jest.fn((options) => mock.navigations.push({ type: 'switchTab', url: options.url })),
    reLaunch: jest.fn((options) => mock.navigations.push({ type: 'reLaunch', url: options.url })),
    navigateBack: jest.fn((options) => mock.navigations.push({ type: 'navigateBack', delta: (options && options.delta) || 1 })),
    stopPullDownRefresh: jest.fn(),
    setNavigationBarTitle: jest.fn(),
    setClipboardData: jest.fn((options) => {
      if (options.success) setTimeout(() => options.success({}), 0)
    }),
    makePhoneCall: jest.fn(),
    requestSubscribeMessage: jest.fn((options) => {
      const answer = mock.subscribeAnswer
      setTimeout(() => {
        if (answer && answer.fail) {
          if (options.fail) options.fail(answer.fail)
          return
        }
        const res = { errMsg: 'requestSubscribeMessage:ok' }
        options.tmplIds.forEach((id) => {
          res[id] = answer ? answer[id] : 'accept'
        })
        if (options.success) options.success(res)
      }, 0)
    }),
    getEnterOptionsSync: jest.fn(() => mock.enterOptions),
    setTabBarBadge: jest.fn((options) => {
      mock.tabBadges[options.index] = options.text
    }),
    removeTabBarBadge: jest.fn((options) => {
      delete mock.tabBadges[options.index]
    }),
    pageScrollTo: jest.fn(),
  }
  return mock
}

/** Let every queued timer and promise chain run (logins, retries, renders). */
async function flush(rounds = 30) {
  for (let i = 0; i < rounds; i += 1) {
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
}

module.exports = { createWxMock, jsonError, flush }
