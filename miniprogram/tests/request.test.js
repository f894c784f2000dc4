const { jsonError } = require('./helpers/wx-mock')
const { OWNER } = require('./helpers/fixtures')

let request
let showError
let config

function loginRoute() {
  let issued = 0
  wx.on('POST', '/api/v1/auth/wechat-login', (req) => {
    if (!req.data.code) return jsonError(401, 'invalid_code', '微信登录凭证无效')
    issued += 1
    return { status: 200, body: { token: `token-${issued}`, user: OWNER } }
  })
}

beforeEach(() => {
  jest.resetModules()
  ;({ request, showError } = require('../utils/request'))
  config = require('../config')
  loginRoute()
  wx.on('GET', '/api/v1/me', { status: 200, body: OWNER })
})

describe('logging in', () => {
  test('the first authenticated call logs in with wx.login and stores our token', async () => {
    const me = await request({ api: 'me' })

    expect(me).toEqual(OWNER)
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(wx.requestsTo('POST', '/api/v1/auth/wechat-login')[0].data).toEqual({ code: 'wx-code-1' })
    expect(wx.storage.get('auth_token')).toBe('token-1')
    expect(wx.storage.get('auth_user')).toEqual(OWNER)
    expect(wx.storage.get('enterprise_id')).toBe(42)
  })

  test('every authenticated call sends the token as a Bearer header', async () => {
    await request({ api: 'me' })
    await request({ api: 'me' })

    const calls = wx.requestsTo('GET', '/api/v1/me')
    expect(calls.map((c) => c.header.Authorization)).toEqual(['Bearer token-1', 'Bearer token-1'])
    expect(wx.login).toHaveBeenCalledTimes(1)
  })

  test('a token kept from an earlier session is used without logging in again', async () => {
    wx.storage.set('auth_token', 'token-from-yesterday')

    await request({ api: 'me' })

    expect(wx.login).not.toHaveBeenCalled()
    expect(wx.requestsTo('GET', '/api/v1/me')[0].header.Authorization).toBe('Bearer token-from-yesterday')
  })

  test('public catalogue calls neither log in nor send a token', async () => {
    wx.storage.set('auth_token', 'token-x')
    wx.on('GET', '/api/v1/departments', { status: 200, body: { items: [] } })

    await request({ api: 'departments' })

    expect(wx.login).not.toHaveBeenCalled()
    expect(wx.requestsTo('GET', '/api/v1/departments')[0].header.Authorization).toBeUndefined()
  })

  test('concurrent calls share one login', async () => {
    wx.on('GET', '/api/v1/enterprises/42', { status: 200, body: { id: 42 } })

    await Promise.all([
      request({ api: 'me' }),
      request({ api: 'me' }),
      request({ api: 'enterpriseDetail', params: { id: 42 } }),
    ])

    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(wx.requestsTo('POST', '/api/v1/auth/wechat-login')).toHaveLength(1)
    const headers = wx.requests.filter((r) => r.path !== '/api/v1/auth/wechat-login').map((r) => r.header.Authorization)
    expect(headers).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-1'])
  })

  test('a refused WeChat code surfaces the server\'s message and does not loop', async () => {
    wx.on('POST', '/api/v1/auth/wechat-login', jsonError(401, 'invalid_code', '微信登录凭证无效或已过期'))

    await expect(request({ api: 'me' })).rejects.toMatchObject({ message: '微信登录凭证无效或已过期', status: 401 })
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(wx.requestsTo('GET', '/api/v1/me')).toHaveLength(0)
  })

  test('a failed wx.login is reported in Chinese, and the next call tries again', async () => {
    wx.loginFails = true
    await expect(request({ api: 'me' })).rejects.toMatchObject({ message: '微信登录失败，请稍后重试' })

    wx.loginFails = false
    await expect(request({ api: 'me' })).resolves.toEqual(OWNER)
  })
})

describe('an expired token (401)', () => {
  test('logs in again and retries exactly once', async () => {
    wx.storage.set('auth_token', 'expired')
    wx.on('GET', '/api/v1/me', (req) => (req.header.Authorization === 'Bearer expired'
      ? jsonError(401, 'unauthenticated', '登录已过期')
      : { status: 200, body: OWNER }))

    await expect(request({ api: 'me' })).resolves.toEqual(OWNER)

    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(wx.requestsTo('GET', '/api/v1/me').map((r) => r.header.Authorization)).toEqual(['Bearer expired', 'Bearer token-1'])
    expect(wx.storage.get('auth_token')).toBe('token-1')
  })

  test('a second 401 is a real refusal: no third attempt, the server\'s message is shown', async () => {
    wx.storage.set('auth_token', 'expired')
    wx.on('GET', '/api/v1/me', jsonError(401, 'unauthenticated', '账号已被停用'))

    await expect(request({ api: 'me' })).rejects.toMatchObject({ message: '账号已被停用', status: 401 })

    expect(wx.requestsTo('GET', '/api/v1/me')).toHaveLength(2)
    expect(wx.login).toHaveBeenCalledTimes(1)
  })

  test('the retry repeats the same method, path and body', async () => {
    wx.storage.set('auth_token', 'expired')
    wx.on('POST', '/api/v1/enterprises/join', (req) => (req.header.Authorization === 'Bearer expired'
      ? jsonError(401, 'unauthenticated', '登录已过期')
      : { status: 200, body: { id: 42 } }))

    await request({ api: 'joinEnterprise', data: { code: 'ABC123' } })

    const calls = wx.requestsTo('POST', '/api/v1/enterprises/join')
    expect(calls).toHaveLength(2)
    expect(calls[1].data).toEqual({ code: 'ABC123' })
  })

  test('several calls rejected at once share one new login', async () => {
    wx.storage.set('auth_token', 'expired')
    wx.on('GET', '/api/v1/me', (req) => (req.header.Authorization === 'Bearer expired'
      ? jsonError(401, 'unauthenticated', '登录已过期')
      : { status: 200, body: OWNER }))

    await Promise.all([request({ api: 'me' }), request({ api: 'me' }), request({ api: 'me' })])

    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(wx.requestsTo('GET', '/api/v1/me')).toHaveLength(6)
  })

  test('a call rejected after another already logged in again reuses the new token', async () => {
    wx.storage.set('auth_token', 'expired')
    let releaseSlow
    wx.on('GET', '/api/v1/enterprises/42', (req) => {
      if (req.header.Authorization !== 'Bearer expired') return { status: 200, body: { id: 42 } }
      // Held back until the other call has finished its re-login.
      return new Promise((resolve) => {
        releaseSlow = () => resolve(jsonError(401, 'unauthenticated', '登录已过期'))
      })
    })
    wx.on('GET', '/api/v1/me', (req) => (req.header.Authorization === 'Bearer expired'
      ? jsonError(401, 'unauthenticated', '登录已过期')
      : { status: 200, body: OWNER }))

    const slow = request({ api: 'enterpriseDetail', params: { id: 42 } })
    await request({ api: 'me' })
    releaseSlow()
    await slow

    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(wx.requestsTo('GET', '/api/v1/enterprises/42').map((r) => r.header.Authorization)).toEqual(['Bearer expired', 'Bearer token-1'])
  })

  test('public calls are not retried on 401', async () => {
    wx.on('GET', '/api/v1/departments', jsonError(401, 'unauthenticated', '需要登录'))

    await expect(request({ api: 'departments' })).rejects.toMatchObject({ status: 401 })
    expect(wx.login).not.toHaveBeenCalled()
  })
})

describe('errors', () => {
  test('carry the server\'s Chinese message, code and field details', async () => {
    wx.on('POST', '/api/v1/enterprises', jsonError(422, 'invalid_credit_code', '统一社会信用代码校验位错误', [
      { field: 'credit_code', message: '校验位应为 Y' },
    ]))

    const err = await request({ api: 'createEnterprise', data: {} }).catch((e) => e)

    expect(err.name).toBe('ApiError')
    expect(err.message).toBe('统一社会信用代码校验位错误')
    expect(err.status).toBe(422)
    expect(err.code).toBe('invalid_credit_code')
    expect(err.fieldErrors()).toEqual({ credit_code: '校验位应为 Y' })
  })

  test('field names are read with or without a "body." location prefix', async () => {
    wx.on('POST', '/api/v1/enterprises', jsonError(422, 'validation_error', '提交的数据有误', [
      { field: 'body.region_code', message: '行政区划代码不存在（前两位应为省级代码）' },
      { field: 'name', message: '企业名称至少2个字' },
    ]))

    const err = await request({ api: 'createEnterprise', data: {} }).catch((e) => e)

    expect(err.fieldErrors()).toEqual({ region_code: '行政区划代码不存在（前两位应为省级代码）', name: '企业名称至少2个字' })
  })

  test('a network failure becomes a message fit for a toast', async () => {
    wx.on('GET', '/api/v1/me', { networkError: 'request:fail -101:net::ERR_CONNECTION_RESET' })

    const err = await request({ api: 'me' }).catch((e) => e)
    showError(err)

    expect(err.message).toBe('网络连接失败，请检查网络后重试')
    expect(wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '网络连接失败，请检查网络后重试', icon: 'none' }))
  })

  test('a timeout says so', async () => {
    wx.on('GET', '/api/v1/departments', { networkError: 'request:fail timeout' })

    await expect(request({ api: 'departments' })).rejects.toMatchObject({ message: '网络超时，请稍后重试', code: 'timeout' })
  })

  test('a gateway error page without JSON still gets a Chinese message', async () => {
    wx.on('GET', '/api/v1/departments', { status: 504, body: '<html>504 Gateway Time-out</html>' })

    await expect(request({ api: 'departments' })).rejects.toMatchObject({ message: '服务暂时不可用，请稍后重试', status: 504 })
  })

  test('a programming error is never shown raw to the user', () => {
    showError(new TypeError('Cannot read properties of undefined'))

    expect(wx.toasts).toEqual(['出错了，请稍后重试'])
  })

  test('an unknown api name is a programming error, not a request', async () => {
    await expect(request({ api: 'nope' })).rejects.toThrow('unknown api "nope"')
    expect(wx.requests).toHaveLength(0)
  })
})

describe('building the request', () => {
  test('uses the base URL from config.js, fills path parameters and drops empty query values', async () => {
    wx.on('GET', '/api/v1/service-items', { status: 200, body: { items: [], total: 0 } })
    wx.on('GET', '/api/v1/service-items/7', { status: 200, body: { id: 7 } })

    await request({ api: 'serviceItems', query: { q: '营业执照', department: '', stage: null, page: 1, page_size: 20 } })
    await request({ api: 'serviceItemDetail', params: { id: 7 } })

    const [list] = wx.requestsTo('GET', '/api/v1/service-items')
    expect(list.url.startsWith(`${config.apiBaseUrl}/api/v1/service-items?`)).toBe(true)
    expect(list.query).toEqual({ q: '营业执照', page: '1', page_size: '20' })
    expect(list.data).toBeUndefined()
    expect(wx.requestsTo('GET', '/api/v1/service-items/7')).toHaveLength(1)
  })

  test('JSON bodies are sent with their method', async () => {
    wx.on('PUT', '/api/v1/enterprises/42', { status: 200, body: { id: 42 } })

    await request({ api: 'updateEnterprise', params: { id: 42 }, data: { name: '新名称' } })

    const [put] = wx.requestsTo('PUT', '/api/v1/enterprises/42')
    expect(put.data).toEqual({ name: '新名称' })
    expect(put.header['Content-Type']).toBe('application/json')
  })

  test('an action without a body (意愿确认, mark read) is a bare authenticated POST', async () => {
    wx.on('POST', '/api/v1/policies/12/consent', { status: 200, body: { consented_at: '2024-05-02T02:00:00Z' } })
    wx.on('POST', '/api/v1/inbox/501/read', { status: 204, body: '' })

    await expect(request({ api: 'policyConsent', params: { id: 12 } })).resolves.toEqual({ consented_at: '2024-05-02T02:00:00Z' })
    await expect(request({ api: 'readInboxMessage', params: { id: 501 } })).resolves.toBe('')

    const [consent] = wx.requestsTo('POST', '/api/v1/policies/12/consent')
    expect(consent.data).toBeUndefined()
    expect(consent.header.Authorization).toBe('Bearer token-1')
    expect(wx.login).toHaveBeenCalledTimes(1)
  })

  test('the read-receipt marker is sent only when there is one', async () => {
    wx.on('GET', '/api/v1/policies/11', { status: 200, body: { id: 11 } })

    await request({ api: 'policyDetail', params: { id: 11 }, query: { from: 'message' } })
    await request({ api: 'policyDetail', params: { id: 11 }, query: { from: '' } })

    expect(wx.requestsTo('GET', '/api/v1/policies/11').map((r) => r.query)).toEqual([{ from: 'message' }, {}])
  })
})
