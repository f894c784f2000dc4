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

module.exports = {
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
