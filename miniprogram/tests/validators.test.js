const v = require('../utils/validators')

// Written out here from GB 32100-2015 rather than imported, so the test does
// not share a bug with the code under test.
const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
function complete(first17) {
  let sum = 0
  for (let i = 0; i < 17; i += 1) sum += ALPHABET.indexOf(first17[i]) * WEIGHTS[i]
  const value = 31 - (sum % 31)
  return first17 + ALPHABET[value === 31 ? 0 : value]
}

describe('统一社会信用代码 (GB 32100-2015)', () => {
  const valid = complete('91350211MA2YKQ8X0')

  test('accepts a code whose check character is computed in this test', () => {
    expect(valid).toHaveLength(18)
    expect(v.validateCreditCode(valid)).toBeNull()
  })

  test('accepts the example printed in the standard', () => {
    expect(v.validateCreditCode('91350100M000100Y43')).toBeNull()
  })

  test('accepts codes whose check value wraps from 31 to 0, and codes checked by Y (30)', () => {
    // Search for prefixes that land on the two edge values of the formula.
    const prefixes = []
    for (let n = 0; n < 2000; n += 1) prefixes.push(`913501${String(n).padStart(4, '0')}MA2Y012`)
    expect(prefixes[0]).toHaveLength(17)
    const zero = prefixes.map(complete).find((code) => code[17] === '0')
    const y = prefixes.map(complete).find((code) => code[17] === 'Y')
    expect(zero).toBeDefined()
    expect(y).toBeDefined()
    expect(v.validateCreditCode(zero)).toBeNull()
    expect(v.validateCreditCode(y)).toBeNull()
  })

  test.each([0, 1, 4, 8, 12, 16, 17])('rejects every single-character change at position %i', (position) => {
    const results = ALPHABET.split('')
      .filter((ch) => ch !== valid[position])
      .map((ch) => [ch, v.validateCreditCode(valid.slice(0, position) + ch + valid.slice(position + 1))])
    expect(results).toHaveLength(30)
    results.forEach(([ch, message]) => {
      // A letter among positions 3-8 is caught as a malformed region code
      // before the check character is even computed.
      const expected = position >= 2 && position <= 7 && /[A-Z]/.test(ch)
        ? '统一社会信用代码第3-8位应为6位数字的行政区划码'
        : '统一社会信用代码校验位错误，请核对整个代码是否有输入错误'
      expect([ch, message]).toEqual([ch, expected])
    })
  })

  test('rejects swapping two neighbouring characters (the most common typing slip)', () => {
    const swapped = valid.slice(0, 3) + valid[4] + valid[3] + valid.slice(5)
    expect(swapped).not.toBe(valid)
    expect(v.validateCreditCode(swapped)).toBe('统一社会信用代码校验位错误，请核对整个代码是否有输入错误')
  })

  test.each(['', null, undefined])('asks for the code when it is missing (%p)', (empty) => {
    expect(v.validateCreditCode(empty)).toBe('请填写统一社会信用代码')
  })

  test.each([[valid.slice(0, 17), 17], [`${valid}0`, 19], ['9', 1]])('says the code must have 18 characters (%s)', (code, length) => {
    expect(v.validateCreditCode(code)).toBe(`统一社会信用代码应为18位（当前为${length}位）`)
  })

  test.each(['I', 'O', 'Z', 'S', 'V'])('rejects the letter %s, which the standard leaves out', (ch) => {
    const code = valid.slice(0, 9) + ch + valid.slice(10)
    expect(v.validateCreditCode(code)).toBe(`统一社会信用代码第10位含有不允许的字符“${ch}”（不使用 I、O、Z、S、V）`)
  })

  test.each([['-', '“-”'], ['中', '“中”'], [' ', '空格']])('rejects %p, naming the position', (ch, shown) => {
    const code = valid.slice(0, 9) + ch + valid.slice(10)
    expect(v.validateCreditCode(code)).toBe(`统一社会信用代码第10位含有${'不允许的字符'}${shown}（只能使用数字0-9和除 I、O、Z、S、V 以外的大写英文字母）`)
  })

  test('positions 3-8 must be the six digits of a region code', () => {
    const code = complete('91AB0100M000100Y4')
    expect(v.validateCreditCode(code)).toBe('统一社会信用代码第3-8位应为6位数字的行政区划码')
  })

  test('like the server, lower case and full width are accepted and the ends trimmed', () => {
    expect(v.validateCreditCode(`  ${valid.toLowerCase()} `)).toBeNull()
  })

  test('normalises lower case, full-width characters and spaces before checking', () => {
    const typed = ` ${valid.slice(0, 6).toLowerCase()}\u3000${valid.slice(6).replace(/\d/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0))} `
    expect(v.normalizeCreditCode(typed)).toBe(valid)
    expect(v.validateCreditCode(v.normalizeCreditCode(typed))).toBeNull()
  })

  test('exposes the check character for the first 17 characters', () => {
    expect(v.creditCodeCheckChar(valid.slice(0, 17))).toBe(valid[17])
  })
})

describe('other enterprise fields', () => {
  test.each([
    ['13812341234', null],
    ['19912341234', null],
    ['', '请填写联系电话'],
    ['1381234123', '手机号码应为11位数字'],
    ['138123412345', '手机号码应为11位数字'],
    ['0591-8888888', '手机号码应为11位数字'],
    ['12812341234', '手机号码格式不正确'],
    ['23812341234', '手机号码格式不正确'],
  ])('mobile %p → %p', (phone, message) => {
    expect(v.validateMobile(phone)).toBe(message)
  })

  test.each([
    ['350102', null],
    ['', '请填写行政区划代码'],
    ['35010', '行政区划代码应为6位数字'],
    ['3501021', '行政区划代码应为6位数字'],
    ['35010a', '行政区划代码应为6位数字'],
    ['930102', '行政区划代码不存在（前两位应为省级代码）'],
    ['110105', null],
  ])('region code %p → %p', (code, message) => {
    expect(v.validateRegionCode(code)).toBe(message)
  })

  test.each([
    ['0', null],
    ['8', null],
    [25, null],
    ['', '请填写从业人员人数'],
    ['-1', '从业人员应为不小于0的整数'],
    ['8.5', '从业人员应为不小于0的整数'],
    ['八', '从业人员应为不小于0的整数'],
  ])('employees %p → %p', (value, message) => {
    expect(v.validateEmployees(value)).toBe(message)
  })

  test.each([
    ['0', null],
    ['30', null],
    ['1200.55', null],
    [800, null],
    ['', '请填写营业收入（万元）'],
    ['-5', '营业收入应为不小于0的数字，单位万元'],
    ['1e3', '营业收入应为不小于0的数字，单位万元'],
    ['12.', '营业收入应为不小于0的数字，单位万元'],
  ])('revenue %p → %p', (value, message) => {
    expect(v.validateAmount(value, '营业收入')).toBe(message)
  })

  test('founding date: today is fine, tomorrow is not, nonsense dates are rejected', () => {
    const today = new Date(2024, 5, 15)
    expect(v.validateFoundedOn('2024-06-15', today)).toBeNull()
    expect(v.validateFoundedOn('1998-01-31', today)).toBeNull()
    expect(v.validateFoundedOn('2024-06-16', today)).toBe('成立日期不能晚于今天')
    expect(v.validateFoundedOn('', today)).toBe('请选择成立日期')
    expect(v.validateFoundedOn('2024/06/01', today)).toBe('成立日期格式应为YYYY-MM-DD')
    expect(v.validateFoundedOn('2023-02-30', today)).toBe('成立日期不是有效的日期')
    expect(v.validateFoundedOn('1948-12-31', today)).toBe('成立日期不能早于1949年')
  })

  test.each([
    ['福州小桥软件有限公司', null],
    ['', '请填写企业名称'],
    ['桥', '企业名称至少2个字'],
    ['桥'.repeat(129), '企业名称不能超过128个字'],
  ])('enterprise name %p → %p', (name, message) => {
    expect(v.validateEnterpriseName(name)).toBe(message)
  })

  test.each([
    ['K7Q2M9', null],
    ['', '请输入企业负责人提供的邀请码'],
    ['ABC', '邀请码应为4-32位，请核对后重新输入'],
    ['A'.repeat(33), '邀请码应为4-32位，请核对后重新输入'],
  ])('invitation code %p → %p', (code, message) => {
    expect(v.validateInvitationCode(code)).toBe(message)
  })
})

describe('which industries need 资产总额', () => {
  test.each([
    ['47', true], ['48', true], ['49', true], ['50', true], ['4710', true],
    ['701', true], ['7010', true],
    ['71', true], ['72', true], ['7211', true],
    ['46', false], ['51', false], ['65', false], ['70', false], ['702', false], ['73', false], ['', false],
  ])('industry %s → %s', (code, expected) => {
    expect(v.industryNeedsAssets(code)).toBe(expected)
  })

  test('the indicator list sent by the server wins over the local rule', () => {
    expect(v.needsAssets({ code: '65', indicators: ['employees', 'revenue', 'assets'] })).toBe(true)
    expect(v.needsAssets({ code: '47', indicators: ['revenue'] })).toBe(false)
    expect(v.needsAssets({ code: '47' })).toBe(true)
    expect(v.needsAssets(null)).toBe(false)
  })
})

describe('the whole enterprise form', () => {
  const form = {
    credit_code: '91350100m000100y43',
    name: ' 福州小桥软件有限公司 ',
    industry_code: '65',
    region_code: '350102',
    employees: '8',
    revenue: '30.5',
    assets: '999',
    founded_on: '2019-05-20',
    contact_phone: '13812341234',
  }

  test('a complete form has no errors and becomes the JSON body with numbers', () => {
    expect(v.validateEnterpriseForm(form, { needsAssets: false })).toEqual({})
    expect(v.toEnterprisePayload(form, { needsAssets: false })).toEqual({
      credit_code: '91350100M000100Y43',
      name: '福州小桥软件有限公司',
      industry_code: '65',
      region_code: '350102',
      employees: 8,
      revenue: 30.5,
      founded_on: '2019-05-20',
      contact_phone: '13812341234',
    })
  })

  test('assets are required and sent only when the industry needs them', () => {
    expect(v.validateEnterpriseForm({ ...form, assets: '' }, { needsAssets: true })).toEqual({ assets: '请填写资产总额（万元）' })
    expect(v.validateEnterpriseForm({ ...form, assets: '' }, { needsAssets: false })).toEqual({})
    expect(v.toEnterprisePayload(form, { needsAssets: true }).assets).toBe(999)
  })

  test('every problem is reported at once, keyed by the API field name', () => {
    const errors = v.validateEnterpriseForm({}, { needsAssets: true })
    expect(Object.keys(errors).sort()).toEqual([
      'assets', 'contact_phone', 'credit_code', 'employees', 'founded_on', 'industry_code', 'name', 'region_code', 'revenue',
    ])
  })
})
