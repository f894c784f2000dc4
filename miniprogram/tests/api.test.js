const { API, PREFERENCE_FIELDS, buildPath, buildQuery } = require('../utils/api')

describe('the api table', () => {
  test.each(Object.entries(API))('%s is an OpenAPI-style operation', (name, entry) => {
    expect(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).toContain(entry.method)
    expect(entry.path).toMatch(/^\/api\/v1\/[a-z0-9\-/{}_]+$/)
    // Bodies only on methods that carry one; query lists only on reads.
    if (entry.body) expect(entry.method).not.toBe('GET')
    if (entry.query) expect(entry.method).toBe('GET')
  })

  test('every policy and notification operation needs a login (the feed, matches and receipts are per user)', () => {
    const names = ['recommendedPolicies', 'policies', 'policyDetail', 'policyConsent', 'subscriptions',
      'subscriptionResults', 'inbox', 'readInboxMessage', 'preferences', 'updatePreferences']
    names.forEach((name) => {
      expect(API[name]).toBeDefined()
      expect(API[name].auth).not.toBe(false)
    })
  })

  test('the recommended feed is not mistaken for a policy id', () => {
    // Both are under /policies; the literal path must stay distinct from {id}.
    expect(API.recommendedPolicies.path).toBe('/api/v1/policies/recommended')
    expect(API.policyDetail.path).toBe('/api/v1/policies/{id}')
  })

  test('preferences are saved with exactly the fields the page edits', () => {
    expect(API.updatePreferences.body).toEqual(PREFERENCE_FIELDS)
    expect(PREFERENCE_FIELDS).toEqual(['policy_types', 'departments', 'mode', 'quiet_start', 'quiet_end'])
  })

  test('buildPath fills and encodes parameters', () => {
    expect(buildPath('/api/v1/service-items/{id}', { id: 12 })).toBe('/api/v1/service-items/12')
    expect(buildPath('/api/v1/service-items/{id}', { id: 'a/b c' })).toBe('/api/v1/service-items/a%2Fb%20c')
    expect(buildPath('/api/v1/me')).toBe('/api/v1/me')
  })

  test('buildPath refuses to build a path with a missing parameter', () => {
    expect(() => buildPath('/api/v1/enterprises/{id}', {})).toThrow('missing path parameter "id"')
    expect(() => buildPath('/api/v1/enterprises/{id}', { id: null })).toThrow('missing path parameter "id"')
  })

  test('buildQuery drops empty filters and encodes Chinese', () => {
    expect(buildQuery({ q: '营业执照', department: '', stage: undefined, page: 1 })).toBe('?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7&page=1')
    expect(buildQuery({})).toBe('')
    expect(buildQuery()).toBe('')
  })
})
