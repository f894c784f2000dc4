// Client-side checks that mirror the server's, so people see a problem next to
// the field while typing instead of after a round trip. The server stays the
// authority: its 422 messages are shown the same way.

// GB 32100-2015: the code alphabet leaves out I, O, Z, S and V, which are easily
// mistaken for 1, 0, 2, 5 and U.
const CREDIT_CODE_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const CREDIT_CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/** The check character for the first 17 characters of a credit code. */
function creditCodeCheckChar(first17) {
  let sum = 0
  for (let i = 0; i < 17; i += 1) {
    sum += CREDIT_CODE_ALPHABET.indexOf(first17[i]) * CREDIT_CODE_WEIGHTS[i]
  }
  const value = (31 - (sum % 31)) % 31
  return CREDIT_CODE_ALPHABET[value]
}

function toHalfWidth(value) {
  return value
    .replace(/[\uFF01-\uFF5E]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
}

/**
 * What the input box keeps while typing. People copy codes from scans and type
 * them with a Chinese IME, so full-width characters, lower case and spaces are
 * turned into the canonical form, which the box then shows.
 */
function normalizeCreditCode(raw) {
  return toHalfWidth(String(raw === undefined || raw === null ? '' : raw))
    .replace(/\s+/g, '')
    .toUpperCase()
}

function describeChar(ch) {
  return /\s/.test(ch) ? '空格' : `“${ch}”`
}

/**
 * Returns a Chinese message, or null when the code is valid. Like the server it
 * folds full width and case and trims the ends, and checks from the coarsest
 * problem to the finest so the first message is the most useful one.
 */
function validateCreditCode(raw) {
  const value = toHalfWidth(raw === undefined || raw === null ? '' : String(raw)).trim().toUpperCase()
  if (!value) return '请填写统一社会信用代码'
  if (value.length !== 18) return `统一社会信用代码应为18位（当前为${value.length}位）`
  for (let i = 0; i < value.length; i += 1) {
    const ch = value[i]
    if (CREDIT_CODE_ALPHABET.indexOf(ch) < 0) {
      const hint = 'IOZSV'.indexOf(ch) >= 0
        ? '（不使用 I、O、Z、S、V）'
        : '（只能使用数字0-9和除 I、O、Z、S、V 以外的大写英文字母）'
      return `统一社会信用代码第${i + 1}位含有不允许的字符${describeChar(ch)}${hint}`
    }
  }
  // Positions 3-8 are the registering authority's region code.
  if (!/^\d{6}$/.test(value.slice(2, 8))) return '统一社会信用代码第3-8位应为6位数字的行政区划码'
  if (creditCodeCheckChar(value.slice(0, 17)) !== value[17]) {
    // The expected character is deliberately not shown: when the typo is
    // elsewhere, "fixing" the last character yields a valid-looking wrong code.
    return '统一社会信用代码校验位错误，请核对整个代码是否有输入错误'
  }
  return null
}

function text(value) {
  return value === undefined || value === null ? '' : String(value).trim()
}

function validateMobile(raw) {
  const value = text(raw)
  if (!value) return '请填写联系电话'
  if (!/^\d{11}$/.test(value)) return '手机号码应为11位数字'
  if (!/^1[3-9]\d{9}$/.test(value)) return '手机号码格式不正确'
  return null
}

// GB/T 2260 province-level codes, the first two digits of any region code
// (same list as the server, so a typo like 530102 → 930102 is caught here).
const PROVINCE_CODES = [
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '71', '81', '82',
]

function validateRegionCode(raw) {
  const value = text(raw)
  if (!value) return '请填写行政区划代码'
  if (!/^\d{6}$/.test(value)) return '行政区划代码应为6位数字'
  if (PROVINCE_CODES.indexOf(value.slice(0, 2)) < 0) return '行政区划代码不存在（前两位应为省级代码）'
  return null
}

function validateEnterpriseName(raw) {
  const value = text(raw)
  if (!value) return '请填写企业名称'
  if (value.length < 2) return '企业名称至少2个字'
  if (value.length > 128) return '企业名称不能超过128个字'
  return null
}

/** Invitation codes are 4-32 characters (the server's rule). */
function validateInvitationCode(raw) {
  const value = text(raw)
  if (!value) return '请输入企业负责人提供的邀请码'
  if (value.length < 4 || value.length > 32) return '邀请码应为4-32位，请核对后重新输入'
  return null
}

function validateEmployees(raw) {
  const value = text(raw)
  if (!value) return '请填写从业人员人数'
  if (!/^\d+$/.test(value)) return '从业人员应为不小于0的整数'
  return null
}

/** Revenue and assets are in 万元 and may have decimals, but never be negative. */
function validateAmount(raw, label) {
  const value = text(raw)
  if (!value) return `请填写${label}（万元）`
  if (!/^\d+(\.\d+)?$/.test(value)) return `${label}应为不小于0的数字，单位万元`
  return null
}

function pad(n) {
  return n < 10 ? `0${n}` : String(n)
}

/** Local calendar date as YYYY-MM-DD (the date the person sees on their phone). */
function formatDate(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

function validateFoundedOn(raw, today) {
  const value = text(raw)
  if (!value) return '请选择成立日期'
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!match) return '成立日期格式应为YYYY-MM-DD'
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
  // Rejects 2023-02-30 and the like, which Date silently rolls over.
  if (formatDate(date) !== value) return '成立日期不是有效的日期'
  // String comparison is safe: both sides are zero-padded YYYY-MM-DD.
  if (value > formatDate(today || new Date())) return '成立日期不能晚于今天'
  if (date.getFullYear() < 1949) return '成立日期不能早于1949年'
  return null
}

/**
 * Whether the size rules (工信部联企业〔2011〕300号) need total assets for an
 * industry code (GB/T 4754-2017): 建筑业 divisions 47–50, 房地产开发经营 701,
 * 租赁和商务服务业 71–72. Only a fallback: the industry list from the server
 * says which indicators each entry needs.
 */
function industryNeedsAssets(code) {
  const value = text(code)
  if (!/^\d{2}/.test(value)) return false
  const division = Number(value.slice(0, 2))
  if (division >= 47 && division <= 50) return true
  if (division === 71 || division === 72) return true
  return value.indexOf('701') === 0
}

/** Prefer the server's indicator list; fall back to the rule above. */
function needsAssets(industry) {
  if (!industry) return false
  if (Array.isArray(industry.indicators)) return industry.indicators.indexOf('assets') >= 0
  return industryNeedsAssets(industry.code)
}

/**
 * Check the whole enterprise form. Returns {field: message} for every field in
 * error (empty object when the form can be submitted).
 */
function validateEnterpriseForm(form, options) {
  const opts = options || {}
  const errors = {}
  const put = (field, message) => {
    if (message) errors[field] = message
  }
  put('credit_code', validateCreditCode(normalizeCreditCode(form.credit_code)))
  put('name', validateEnterpriseName(form.name))
  put('industry_code', text(form.industry_code) ? null : '请选择所属行业')
  put('region_code', validateRegionCode(form.region_code))
  put('employees', validateEmployees(form.employees))
  put('revenue', validateAmount(form.revenue, '营业收入'))
  if (opts.needsAssets) put('assets', validateAmount(form.assets, '资产总额'))
  put('founded_on', validateFoundedOn(form.founded_on, opts.today))
  put('contact_phone', validateMobile(form.contact_phone))
  return errors
}

/** The JSON body for POST/PUT /api/v1/enterprises, with numbers as numbers. */
function toEnterprisePayload(form, options) {
  const opts = options || {}
  const body = {
    credit_code: normalizeCreditCode(form.credit_code),
    name: text(form.name),
    industry_code: text(form.industry_code),
    region_code: text(form.region_code),
    employees: parseInt(text(form.employees), 10),
    revenue: Number(text(form.revenue)),
    founded_on: text(form.founded_on),
    contact_phone: text(form.contact_phone),
  }
  // Industries sized without assets must not send a stale figure left over
  // from an earlier industry choice.
  if (opts.needsAssets) body.assets = Number(text(form.assets))
  return body
}

module.exports = {
  CREDIT_CODE_ALPHABET,
  CREDIT_CODE_WEIGHTS,
  creditCodeCheckChar,
  normalizeCreditCode,
  validateCreditCode,
  validateMobile,
  validateRegionCode,
  validateEnterpriseName,
  validateInvitationCode,
  validateEmployees,
  validateAmount,
  validateFoundedOn,
  formatDate,
  industryNeedsAssets,
  needsAssets,
  validateEnterpriseForm,
  toEnterprisePayload,
}
