// The single way the mini-program talks to the backend.
//
// Authentication: wx.login gives a one-time code; the server trades it for its
// own opaque session token (session_key never reaches the client). The token is
// kept in storage and sent as "Authorization: Bearer <token>". Tokens expire on
// the server, so a 401 triggers one fresh login and one retry; a second 401 is a
// real refusal and is shown to the user.

const config = require('../config')
const { API, buildPath, buildQuery } = require('./api')
const session = require('./session')

const NETWORK_ERROR_MESSAGE = '网络连接失败，请检查网络后重试'
const TIMEOUT_MESSAGE = '网络超时，请稍后重试'
const WECHAT_LOGIN_FAILED_MESSAGE = '微信登录失败，请稍后重试'

// Used only when the server's answer carries no Chinese message of its own
// (a proxy error page, for instance).
const STATUS_MESSAGES = {
  400: '请求有误，请检查后重试',
  401: '登录已失效，请重新进入小程序',
  403: '没有权限进行此操作',
  404: '请求的内容不存在',
  409: '数据已存在或已被修改，请刷新后重试',
  410: '内容已失效',
  413: '提交的内容过大',
  422: '提交的信息有误，请检查后重试',
  429: '操作太频繁，请稍后再试',
}

class ApiError extends Error {
  constructor(message, { status = 0, code = '', details = [] } = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = Array.isArray(details) ? details : []
  }

  /** Map the server's [{field, message}] details to {field: message} for forms. */
  fieldErrors() {
    const errors = {}
    this.details.forEach((detail) => {
      if (!detail || !detail.field) return
      // Validation locations may be prefixed with where they came from ("body.name").
      const field = String(detail.field).replace(/^body\./, '')
      if (!errors[field]) errors[field] = detail.message
    })
    return errors
  }
}

function errorFromResponse(res) {
  const body = res && res.data
  const error = body && typeof body === 'object' ? body.error : null
  const status = res ? res.statusCode : 0
  let message = error && typeof error.message === 'string' && error.message ? error.message : ''
  if (!message) {
    message = STATUS_MESSAGES[status] || (status >= 500 ? '服务暂时不可用，请稍后重试' : `请求失败（${status}），请稍后重试`)
  }
  return new ApiError(message, {
    status,
    code: (error && error.code) || '',
    details: (error && error.details) || [],
  })
}

function networkError(err) {
  const text = (err && err.errMsg) || ''
  const timedOut = /timeout|超时/i.test(text)
  return new ApiError(timedOut ? TIMEOUT_MESSAGE : NETWORK_ERROR_MESSAGE, {
    code: timedOut ? 'timeout' : 'network_error',
  })
}

/** Promise wrapper over wx.request that resolves for every HTTP status. */
function send(entry, { params, query, data, token, header: extra }) {
  const url = config.apiBaseUrl + buildPath(entry.path, params) + buildQuery(query)
  const header = { ...(extra || {}), 'Content-Type': 'application/json' }
  if (token) header.Authorization = `Bearer ${token}`
  return new Promise((resolve, reject) => {
    wx.request({
      url,
      method: entry.method,
      data: entry.method === 'GET' ? undefined : data,
      header,
      timeout: config.requestTimeoutMs,
      success: resolve,
      fail: (err) => reject(networkError(err)),
    })
  })
}

function wechatCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => {
        if (res && res.code) resolve(res.code)
        else reject(new ApiError(WECHAT_LOGIN_FAILED_MESSAGE, { code: 'wechat_login_failed' }))
      },
      fail: () => reject(new ApiError(WECHAT_LOGIN_FAILED_MESSAGE, { code: 'wechat_login_failed' })),
    })
  })
}

async function performLogin() {
  const code = await wechatCode()
  const res = await send(API.wechatLogin, { data: { code } })
  if (res.statusCode < 200 || res.statusCode >= 300) throw errorFromResponse(res)
  const body = res.data || {}
  if (!body.token) throw new ApiError('登录失败，请稍后重试', { status: res.statusCode, code: 'login_failed' })
  session.setToken(body.token)
  session.setUser(body.user || null)
  return body
}

let loginInFlight = null

/**
 * Log in with WeChat. Concurrent callers (a page firing three requests at
 * start-up) share one wx.login: each code is single-use, and racing logins
 * would leave whichever token was written last, invalidating the others.
 */
function login() {
  if (!loginInFlight) {
    loginInFlight = performLogin().then(
      (result) => {
        loginInFlight = null
        return result
      },
      (err) => {
        loginInFlight = null
        throw err
      }
    )
  }
  return loginInFlight
}

async function tokenAfterRejection(rejectedToken) {
  const current = session.getToken()
  // Another request may already have logged in again while ours was in flight;
  // reuse that token rather than spending a second wx.login code.
  if (current && current !== rejectedToken) return current
  if (current === rejectedToken) session.setToken(null)
  const result = await login()
  return result.token
}

/**
 * request({api: 'serviceItemDetail', params: {id: 3}, query, data}) -> response body.
 * `header` adds request headers (e.g. Idempotency-Key); the retry after a 401
 * sends the same ones, so an idempotent submission stays one submission.
 * Rejects with ApiError whose message is fit to show to the user as is.
 */
async function request({ api, params, query, data, header } = {}) {
  const entry = API[api]
  if (!entry) throw new Error(`unknown api "${api}"`)

  if (entry.auth === false) {
    const res = await send(entry, { params, query, data, header })
    if (res.statusCode >= 200 && res.statusCode < 300) return res.data
    throw errorFromResponse(res)
  }

  let token = session.getToken()
  if (!token) token = (await login()).token
  let res = await send(entry, { params, query, data, token, header })
  if (res.statusCode === 401) {
    token = await tokenAfterRejection(token)
    res = await send(entry, { params, query, data, token, header })
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res.data
  throw errorFromResponse(res)
}

/** Show any error from request() as a toast; non-ApiErrors are bugs, so stay generic. */
function showError(err) {
  // Checked by name, not instanceof, so errors from another module copy still count.
  const title = err && err.name === 'ApiError' && err.message ? err.message : '出错了，请稍后重试'
  wx.showToast({ title, icon: 'none', duration: 2500 })
}

module.exports = {
  request,
  login,
  showError,
  ApiError,
  NETWORK_ERROR_MESSAGE,
  TIMEOUT_MESSAGE,
}
