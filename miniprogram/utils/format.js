// Turns the API's codes into the words people read on screen (item_type
// already arrives in Chinese, e.g. 行政许可, and is shown as is). Unknown codes
// fall through unchanged, so a value added on the server still shows something
// instead of an empty label.

const STAGES = [
  { value: '', label: '全部' },
  { value: 'start', label: '开办' },
  { value: 'operate', label: '经营' },
  { value: 'change', label: '变更' },
  { value: 'close', label: '注销' },
]

const MATERIAL_FORM_LABELS = {
  original: '原件',
  copy: '复印件',
  electronic: '电子件',
}

const SIZE_CLASS_LABELS = {
  large: '大型',
  medium: '中型',
  small: '小型',
  micro: '微型',
}

const ROLE_LABELS = {
  visitor: '访客',
  enterprise_owner: '企业负责人',
  enterprise_member: '企业成员',
}

// 减免/奖补/权益/资质, in the order the server's policy_type enum lists them.
const POLICY_TYPES = [
  { value: '', label: '全部' },
  { value: 'reduction', label: '减免' },
  { value: 'subsidy', label: '奖补' },
  { value: 'right', label: '权益' },
  { value: 'qualification', label: '资质' },
]

const POLICY_TYPE_LABELS = POLICY_TYPES.reduce((map, t) => {
  if (t.value) map[t.value] = t.label
  return map
}, {})

function labelOf(map, code) {
  if (code === undefined || code === null || code === '') return ''
  return map[code] || String(code)
}

/** The server sends stage_label; the local table covers older answers without it. */
function stageLabel(code, serverLabel) {
  if (serverLabel) return serverLabel
  const stage = STAGES.find((s) => s.value === code)
  return stage && code ? stage.label : labelOf({}, code)
}

/** "5 个工作日"; 0 means the counter settles it on the spot (即办件). */
function workingDays(days) {
  if (days === undefined || days === null || days === '') return ''
  if (Number(days) === 0) return '即办'
  return `${days} 个工作日`
}

/** Fees arrive as free text, a number of yuan, or nothing (free of charge). */
function feesText(fees) {
  if (fees === undefined || fees === null || fees === '' || fees === 0 || fees === '0') return '不收费'
  if (typeof fees === 'number') return `${fees} 元`
  if (Array.isArray(fees)) {
    if (!fees.length) return '不收费'
    return fees
      .map((fee) => (typeof fee === 'object' && fee ? [fee.name, fee.amount, fee.standard].filter(Boolean).join(' ') : String(fee)))
      .join('；')
  }
  return String(fees)
}

/** Shape one list row from GET /api/v1/service-items for the template. */
function serviceItemRow(item) {
  const department = item.department || {}
  return {
    id: item.id,
    name: item.name,
    summary: item.summary || '',
    departmentName: department.short_name || department.name || '',
    stageLabel: stageLabel(item.stage, item.stage_label),
    committedText: item.committed_days === undefined || item.committed_days === null
      ? ''
      : `承诺时限 ${workingDays(item.committed_days)}`,
    online: !!item.online_available,
  }
}

function sizeLabel(enterprise) {
  if (!enterprise) return ''
  if (enterprise.size && enterprise.size.label) return enterprise.size.label
  return labelOf(SIZE_CLASS_LABELS, enterprise.size_class)
}

/**
 * "2024-05-01 09:30" in Beijing time whatever the phone's time zone: every
 * date on a government notice is Beijing time, and the server may answer in UTC.
 */
function beijingDateTime(iso) {
  if (!iso) return ''
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return String(iso)
  const d = new Date(ms + 8 * 3600 * 1000)
  const pad = (n) => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** A null expiry is how the server says 长期有效. */
function expiresText(expiresOn) {
  return expiresOn ? `有效期至 ${expiresOn}` : '长期有效'
}

/** The issuing department (发文部门); the server calls it department. */
function policyDepartment(policy) {
  return policy.department || policy.issuing_department || {}
}

/** The server sends type_label; the local table covers answers without it. */
function policyTypeLabel(policy) {
  return policy.type_label || labelOf(POLICY_TYPE_LABELS, policy.policy_type)
}

/** Why a policy fits and what is still missing, as lines ready for chips. */
function presentMatch(match) {
  if (!match) return null
  const reasons = (match.reasons || []).filter(Boolean).map(String)
  const missing = (match.missing || [])
    .map((m) => (m && typeof m === 'object' ? m.message : m))
    .filter(Boolean)
    .map(String)
  return {
    // Absent means the server only sends matches that fit (the recommended feed).
    eligible: match.eligible !== false,
    score: Number(match.score) || 0,
    reasons,
    missing,
    missingText: missing.length ? `还差：${missing.join('；')}` : '',
  }
}

/** Shape one row of GET /api/v1/policies or /policies/recommended for the template. */
function policyRow(policy) {
  const department = policyDepartment(policy)
  const match = presentMatch(policy.match)
  return {
    id: policy.id,
    title: policy.title,
    docNumber: policy.doc_number || '',
    typeLabel: policyTypeLabel(policy),
    departmentName: department.short_name || department.name || '',
    summary: policy.summary || '',
    expiresText: expiresText(policy.expires_on),
    noApplication: !!policy.no_application,
    reasons: match ? match.reasons : [],
    missingText: match ? match.missingText : '',
  }
}

module.exports = {
  POLICY_TYPES,
  POLICY_TYPE_LABELS,
  beijingDateTime,
  expiresText,
  policyDepartment,
  policyTypeLabel,
  presentMatch,
  policyRow,
  STAGES,
  MATERIAL_FORM_LABELS,
  SIZE_CLASS_LABELS,
  ROLE_LABELS,
  labelOf,
  stageLabel,
  workingDays,
  feesText,
  serviceItemRow,
  sizeLabel,
}
