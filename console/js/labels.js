// Vocabulary shared by the pages: role permissions, Chinese labels for API codes.
// Kept in one place so that a new role or audit action is one edit, not a hunt.

export const ROLE_LABELS = {
  consultant: '咨询员',
  supervisor: '部门主管',
  policy_officer: '政策专员',
  system_admin: '系统管理员',
  security_admin: '安全管理员',
  audit_admin: '安全审计员',
  visitor: '未认证用户',
  enterprise_owner: '企业负责人',
  enterprise_member: '企业成员',
};

export const STAFF_ROLES = ['consultant', 'supervisor', 'policy_officer', 'system_admin', 'security_admin', 'audit_admin'];
// The system admin may create these only; admin roles are granted by the security admin.
export const BUSINESS_ROLES = ['consultant', 'supervisor', 'policy_officer'];

// 三员分立: the three admin roles never share a function. The catalogue pages are
// for the business staff and the system admin; the security and audit admins
// see only their own page besides 首页.
const CAPABILITIES = {
  'items.view': ['system_admin', 'policy_officer', 'consultant', 'supervisor'],
  'items.edit': ['system_admin'],
  'items.export': ['system_admin', 'policy_officer'],
  'accounts.view': ['system_admin', 'security_admin'],
  'accounts.create': ['system_admin'],
  'accounts.role': ['security_admin'],
  'accounts.unlock': ['security_admin'],
  'audit.view': ['audit_admin'],
};

export function can(user, capability) {
  return !!user && (CAPABILITIES[capability] || []).includes(user.role);
}

export const MENU = [
  { name: 'home', label: '首页', icon: 'HomeFilled', capability: null },
  { name: 'items', label: '事项管理', icon: 'Document', capability: 'items.view' },
  { name: 'accounts', label: '账号管理', icon: 'User', capability: 'accounts.view' },
  { name: 'audit', label: '审计日志', icon: 'Tickets', capability: 'audit.view' },
];

export function menuFor(user) {
  if (!user || !STAFF_ROLES.includes(user.role)) return [];
  return MENU.filter((m) => !m.capability || can(user, m.capability));
}

export const STAGES = [
  { value: 'start', label: '开办' },
  { value: 'operate', label: '经营' },
  { value: 'change', label: '变更' },
  { value: 'close', label: '注销' },
];
export const STAGE_LABELS = Object.fromEntries(STAGES.map((s) => [s.value, s.label]));

export const ITEM_TYPES = ['行政许可', '行政确认', '行政备案', '行政给付', '行政征收', '行政裁决', '行政奖励', '公共服务', '其他行政权力'];

export const MATERIAL_FORMS = [
  { value: 'original', label: '原件' },
  { value: 'copy', label: '复印件' },
  { value: 'electronic', label: '电子件' },
];

// Field names as they appear in the import sheet headers and the edit form, for
// showing the API's per-field reasons in words staff recognise.
export const FIELD_LABELS = {
  code: '事项编码',
  name: '事项名称',
  item_type: '事项类型',
  department: '部门编码',
  implementing_body: '实施主体',
  legal_basis: '设定依据',
  summary: '简介',
  keywords: '关键词',
  materials: '办理要件',
  steps: '办理流程',
  statutory_days: '法定时限',
  committed_days: '承诺时限',
  fees: '收费标准',
  online_available: '可网办',
  online_url: '网办地址',
  offline_location: '办理地点',
  stage: '生命周期',
  faq: '常见问题',
  row: '整行',
  body: '整体',
  file: '文件',
  description: '说明',
  required: '是否必需',
  form: '形式',
  count: '份数',
  notes: '备注',
  q: '问题',
  a: '回答',
  username: '用户名',
  password: '密码',
  role: '角色',
  display_name: '姓名',
  department_code: '所属部门',
};

/** "materials.0.name" -> "办理要件 第1项 事项名称"-like wording for a reason list. */
export function fieldLabel(field) {
  if (!field) return '';
  const parts = String(field).split('.');
  const words = [];
  parts.forEach((p, i) => {
    if (/^\d+$/.test(p)) words.push('第' + (Number(p) + 1) + '项');
    else if (i > 0 && p === 'name') words.push('名称');
    else words.push(FIELD_LABELS[p] || p);
  });
  return words.join(' ');
}

export const AUDIT_ACTIONS = {
  login_success: '登录成功',
  login_failed: '登录失败',
  login_refused_locked: '锁定期间尝试登录',
  account_locked: '账号锁定',
  account_unlocked: '账号解锁',
  logout: '退出登录',
  role_changed: '角色变更',
  staff_created: '创建账号',
  service_item_created: '新增事项',
  service_item_updated: '修改事项',
  service_item_retired: '下架事项',
  service_items_imported: '导入事项',
  service_items_exported: '导出事项',
  audit_log_viewed: '查看审计日志',
  enterprise_registered: '企业注册',
  enterprise_updated: '修改企业信息',
  enterprise_joined: '加入企业',
  invitation_created: '生成邀请码',
  subscribe: '关注公众号',
  template: '模板消息',
};

export const TARGET_TYPES = {
  staff: '工作人员账号',
  service_item: '事项',
  audit_log: '审计日志',
  enterprise: '企业',
  user: '用户',
  invitation: '邀请码',
};

export const OUTCOMES = {
  success: '成功',
  failure: '失败',
  denied: '拒绝',
};

const TIME_FORMAT = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** Beijing time, "2026-11-23 09:09:41", whatever the workstation's time zone. */
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const parts = Object.fromEntries(TIME_FORMAT.formatToParts(d).map((p) => [p.type, p.value]));
  const hour = parts.hour === '24' ? '00' : parts.hour;
  return `${parts.year}-${parts.month}-${parts.day} ${hour}:${parts.minute}:${parts.second}`;
}

export function daysLabel(days) {
  return days === 0 ? '即办' : days + ' 个工作日';
}
