const { openPage } = require('./helpers/page')
const { installBackend, OWNER } = require('./helpers/fixtures')
const { jsonError } = require('./helpers/wx-mock')

const MEMBER = { ...OWNER, id: 8, role: 'enterprise_member', display_name: '张会计' }

// The server's code table (GET /api/v1/reference/policy-options), abridged.
const POLICY_OPTIONS = {
  types: [{ code: 'subsidy', label: '奖补' }],
  statuses: [{ code: 'published', label: '已发布' }],
  size_classes: [{ code: 'micro', label: '微型' }],
  enterprise_tags: [
    { code: 'high_tech', label: '高新技术企业' },
    { code: 'tech_sme', label: '科技型中小企业' },
    { code: 'specialized', label: '专精特新中小企业' },
  ],
  industry_groups: [{ code: 'software_it', label: '软件和信息技术服务业' }],
}

function label(code) {
  return POLICY_OPTIONS.enterprise_tags.find((t) => t.code === code).label
}

/** The tag routes of enterprise 42, keeping what was saved. */
function installTagBackend(wx, { user = OWNER, held = ['tech_sme'] } = {}) {
  const state = installBackend(wx, { user })
  state.held = held
  wx.storage.set('enterprise_id', 42)
  wx.storage.set('auth_user', user)
  wx.on('GET', '/api/v1/reference/policy-options', { status: 200, body: POLICY_OPTIONS })
  const answer = () => ({
    status: 200,
    body: { enterprise_id: 42, tags: state.held.map((code) => ({ code, label: label(code) })) },
  })
  wx.on('GET', '/api/v1/enterprises/42/tags', answer)
  wx.on('PUT', '/api/v1/enterprises/42/tags', (req) => {
    if (state.user.role !== 'enterprise_owner') return jsonError(403, 'forbidden', '没有权限进行此操作')
    state.held = POLICY_OPTIONS.enterprise_tags.map((t) => t.code).filter((c) => req.data.tags.includes(c))
    return answer()
  })
  return state
}

describe('企业资质 page', () => {
  let backend

  beforeEach(() => {
    backend = installTagBackend(wx)
  })

  test('offers every qualification in the server\'s code table, with the held ones ticked', async () => {
    const page = await openPage('pages/enterprise-tags/enterprise-tags', { id: '42' })

    expect(wx.requestsTo('GET', '/api/v1/reference/policy-options')).toHaveLength(1)
    // The code table is public: no login is needed to fetch it.
    expect(wx.requestsTo('GET', '/api/v1/reference/policy-options')[0].header.Authorization).toBeUndefined()
    expect(wx.requestsTo('GET', '/api/v1/enterprises/42/tags')[0].header.Authorization).toBe('Bearer token-1')
    expect(page.texts('.chip')).toEqual(['高新技术企业', '✓ 科技型中小企业', '专精特新中小企业'])
    expect(page.$('#tag-tech_sme').dom.className).toContain('active')
    expect(page.$('#tag-high_tech').dom.className).not.toContain('active')
    expect(page.text('#held')).toBe('已选择：科技型中小企业')
    expect(page.exists('#save')).toBe(true)
  })

  test('ticking and unticking, then 保存, sends the codes and shows what the server kept', async () => {
    const page = await openPage('pages/enterprise-tags/enterprise-tags', { id: '42' })

    await page.tap('#tag-specialized')
    await page.tap('#tag-high_tech')
    await page.tap('#tag-tech_sme')
    expect(page.text('#held')).toBe('已选择：高新技术企业、专精特新中小企业')
    await page.tap('#save')

    const [sent] = wx.requestsTo('PUT', '/api/v1/enterprises/42/tags')
    expect(sent.data).toEqual({ tags: ['high_tech', 'specialized'] })
    expect(sent.header.Authorization).toBe('Bearer token-1')
    expect(backend.held).toEqual(['high_tech', 'specialized'])
    expect(wx.toasts).toContain('企业资质已保存')
    expect(page.texts('.chip.active')).toEqual(['✓ 高新技术企业', '✓ 专精特新中小企业'])
  })

  test('clearing every qualification is saved as an empty list', async () => {
    const page = await openPage('pages/enterprise-tags/enterprise-tags', { id: '42' })

    await page.tap('#tag-tech_sme')
    await page.tap('#save')

    expect(wx.requestsTo('PUT', '/api/v1/enterprises/42/tags')[0].data).toEqual({ tags: [] })
    expect(page.text('#held')).toBe('暂未选择任何资质')
  })

  test('without an id in the link the page uses the user\'s own enterprise', async () => {
    await openPage('pages/enterprise-tags/enterprise-tags')

    expect(wx.requestsTo('GET', '/api/v1/enterprises/42/tags')).toHaveLength(1)
  })

  test('a member sees the qualifications but cannot change them', async () => {
    backend.user = MEMBER
    wx.storage.set('auth_user', MEMBER)
    const page = await openPage('pages/enterprise-tags/enterprise-tags', { id: '42' })

    expect(page.text('#readonly-hint')).toBe('仅企业负责人可以修改企业资质，如有变化请联系企业负责人')
    expect(page.exists('#save')).toBe(false)
    await page.tap('#tag-high_tech')
    expect(page.texts('.chip.active')).toEqual(['✓ 科技型中小企业'])
    expect(wx.requestsTo('PUT', '/api/v1/enterprises/42/tags')).toHaveLength(0)
  })

  test('the server\'s refusal is shown on the page and the choice is kept', async () => {
    wx.on('PUT', '/api/v1/enterprises/42/tags', jsonError(422, 'unknown_tag', '未知的企业资质：专精特新中小企业', [
      { field: 'tags', message: '未知的企业资质：专精特新中小企业' },
    ]))
    const page = await openPage('pages/enterprise-tags/enterprise-tags', { id: '42' })

    await page.tap('#tag-specialized')
    await page.tap('#save')

    expect(page.text('#save-error')).toBe('未知的企业资质：专精特新中小企业')
    expect(page.texts('.chip.active')).toEqual(['✓ 科技型中小企业', '✓ 专精特新中小企业'])
    expect(page.data.saving).toBe(false)
  })

  test('when loading fails the person can retry', async () => {
    wx.on('GET', '/api/v1/enterprises/42/tags', { networkError: 'request:fail' })
    const page = await openPage('pages/enterprise-tags/enterprise-tags', { id: '42' })
    expect(page.text('#load-error')).toBe('网络连接失败，请检查网络后重试 重新加载')

    installTagBackend(wx)
    await page.tap('#retry')

    expect(page.exists('#load-error')).toBe(false)
    expect(page.texts('.chip.active')).toEqual(['✓ 科技型中小企业'])
  })

  test('someone without an enterprise is sent to 企业认证 first', async () => {
    wx.storage.delete('enterprise_id')
    const page = await openPage('pages/enterprise-tags/enterprise-tags')

    expect(page.text('#no-enterprise')).toContain('完成企业认证后，才能填写企业资质')
    expect(wx.requestsTo('GET', '/api/v1/reference/policy-options')).toHaveLength(0)
    await page.tap('#register')
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/enterprise/enterprise' })
  })

  test('返回 goes back to the page it was opened from', async () => {
    const page = await openPage('pages/enterprise-tags/enterprise-tags', { id: '42' })

    await page.tap('#done')

    expect(wx.navigateBack).toHaveBeenCalled()
  })
})
