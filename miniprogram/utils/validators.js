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

/**
 * People copy codes from scans and type them with a Chinese IME, so accept
 * full-width characters, lower case and stray spaces, and send the canonical form.
 */
function normalizeCreditCode(raw) {
  return String(raw === undefined || raw === null ? '' : raw)
    .replace(/[\uFF01-\uFF5E]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
    .replace(/[\s\u3000]+/g, '')
    .toUpperCase()
}

/** Returns a Chinese message, or null when the code is valid. Expects normalised input. */
function validateCreditCode(code) {
  const value = code === undefined || code === null ? '' : String(code)
  if (!value) return '请填写统一社会信用代码'
  if (value.length !== 18) return '统一社会信用代码应为18位'
  for (let i = 0; i < value.length; i += 1) {
    if (CREDIT_CODE_ALPHABET.indexOf(value[i]) < 0) {
      return `统一社会信用代码含有不允许的字符“${value[i]}”`
    }
  }
  if (creditCodeCheckChar(value.slice(0, 17)) !== value[17]) {
    return '统一社会信用代码校验位错误，请核对后重新输入'
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

function validateRegionCode(raw) {
  const value = text(raw)
  if (!value) return '请填写行政区划代码'
  if (!/^\d{6}$/.test(value)) return '行政区划代码应为6位数字'
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
  put('name', text(form.name) ? null : '请填写企业名称')
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
  validateEmployees,
  validateAmount,
  validateFoundedOn,
  formatDate,
  industryNeedsAssets,
  needsAssets,
  validateEnterpriseForm,
  toEnterprisePayload,
}
