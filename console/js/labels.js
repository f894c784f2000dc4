// Vocabulary shared by the pages: role permissions, Chinese labels for API codes.
// Kept in one place so that a new role or audit action is one edit, not a hunt.

import { api } from './api.js';

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
  // Policies are business work: officers write and review them, consultants and
  // supervisors read them to answer enterprises. No admin role sees them (三员分立).
  'policies.view': ['policy_officer', 'consultant', 'supervisor'],
  'policies.edit': ['policy_officer'],
  // The push figures are the officers' follow-up; the consent list also serves the
  // supervisors who answer for 免申即享 cases (the server's roles, mirrored).
  'policies.campaign': ['policy_officer'],
  'policies.consents': ['policy_officer', 'supervisor'],
  // 咨询办理: consultants answer cases at the workbench; supervisors also dispatch and chase (督办).
  'cases.view': ['consultant', 'supervisor'],
  'cases.supervise': ['supervisor'],
  // 需求洞察 and 流程再造: officers analyse and propose; supervisors read (their department).
  'insights.view': ['policy_officer', 'supervisor'],
  'insights.propose': ['policy_officer'],
};

export function can(user, capability) {
  return !!user && (CAPABILITIES[capability] || []).includes(user.role);
}

export const MENU = [
  { name: 'home', label: '首页', icon: 'HomeFilled', capability: null },
  { name: 'cases', label: '工作台', icon: 'ChatLineSquare', capability: 'cases.view' },
  { name: 'supervision', label: '督办', icon: 'AlarmClock', capability: 'cases.supervise' },
  { name: 'items', label: '事项管理', icon: 'Document', capability: 'items.view' },
  { name: 'policies', label: '惠企政策', icon: 'Promotion', capability: 'policies.view' },
  { name: 'insights', label: '需求洞察', icon: 'DataAnalysis', capability: 'insights.view' },
  { name: 'proposals', label: '流程再造', icon: 'SetUp', capability: 'insights.view' },
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
  enterprise_tags_updated: '修改企业资质',
  policy_created: '起草政策',
  policy_updated: '修改政策草稿',
  policy_submitted: '提交政策审核',
  policy_published: '审核通过并发布政策',
  policy_rejected: '退回政策',
  policy_withdrawn: '撤回政策',
  policy_version_created: '创建政策新版本',
  policy_expired: '政策到期失效',
  policy_consent: '免申即享确认',
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
  policy: '政策',
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

// ---------- 惠企政策 ----------
// The code tables (policy types, statuses, size classes, qualifications) are the
// server's: GET /api/v1/reference/policy-options, fetched once by loadPolicyOptions()
// (app.js starts it at start-up; the policy page awaits the same request). The lists
// below are reactive and filled in place, so the pages that import them show the
// words as soon as they arrive. Only what the console adds of its own is kept here.

// Element Plus tag colours per status: a console matter, not the server's.
const POLICY_STATUS_TAGS = {
  draft: 'info', in_review: 'warning', published: 'success', withdrawn: 'danger', expired: 'info', superseded: 'info',
};

export const POLICY_STATUSES = Vue.reactive([]);
export const POLICY_STATUS = Vue.reactive({});
export const POLICY_TYPES = Vue.reactive([]);
export const POLICY_TYPE_LABELS = Vue.reactive({});
export const SIZE_CLASSES = Vue.reactive([]);
export const ENTERPRISE_TAGS = Vue.reactive([]);

function refill(list, options, extra = () => ({})) {
  list.splice(0, list.length, ...(options || []).map((o) => ({ value: o.code, label: o.label, ...extra(o) })));
}

function reindex(map, list) {
  for (const key of Object.keys(map)) delete map[key];
  for (const item of list) map[item.value] = item;
}

let policyOptionsLoad = null;

/** Fetch the policy code tables once; a failure is forgotten so the next caller retries. */
export function loadPolicyOptions() {
  if (!policyOptionsLoad) {
    policyOptionsLoad = api('GET', '/api/v1/reference/policy-options', { noAuthRedirect: true }).then((o) => {
      refill(POLICY_STATUSES, o.statuses, (s) => ({ tag: POLICY_STATUS_TAGS[s.code] || 'info' }));
      reindex(POLICY_STATUS, POLICY_STATUSES);
      refill(POLICY_TYPES, o.types);
      for (const key of Object.keys(POLICY_TYPE_LABELS)) delete POLICY_TYPE_LABELS[key];
      for (const t of POLICY_TYPES) POLICY_TYPE_LABELS[t.value] = t.label;
      refill(SIZE_CLASSES, o.size_classes);
      refill(ENTERPRISE_TAGS, o.enterprise_tags);
      return o;
    }, (err) => {
      policyOptionsLoad = null;
      throw err;
    });
  }
  return policyOptionsLoad;
}

// Offered in the region picker; any other GB/T 2260 prefix can be typed in.
export const REGION_OPTIONS = [
  { value: '44', label: '广东省' },
  { value: '4403', label: '深圳市' },
  { value: '440303', label: '罗湖区' },
  { value: '440304', label: '福田区' },
  { value: '440305', label: '南山区' },
  { value: '440306', label: '宝安区' },
  { value: '440307', label: '龙岗区' },
  { value: '440308', label: '盐田区' },
  { value: '440309', label: '龙华区' },
  { value: '440310', label: '坪山区' },
  { value: '440311', label: '光明区' },
];

export const CHANNELS = [
  { value: 'subscribe', label: '小程序订阅消息' },
  { value: 'template', label: '公众号模板消息' },
];
export const CHANNEL_LABELS = Object.fromEntries(CHANNELS.map((c) => [c.value, c.label]));

// The outbox's delivery statuses, in the order the campaign chart stacks them.
export const DELIVERY_STATUSES = [
  { value: 'queued', label: '排队中', color: '#a0a9b8' },
  { value: 'sending', label: '发送中', color: '#67b7f7' },
  { value: 'retrying', label: '重试中', color: '#f2a93b' },
  { value: 'delivered', label: '已送达', color: '#1f6fb2' },
  { value: 'skipped', label: '已跳过（无订阅额度，转入摘要）', short: '已跳过', color: '#8c7ae6' },
  { value: 'rejected', label: '被拒收', color: '#c45656' },
  { value: 'failed', label: '发送失败', color: '#e26d5c' },
];
// While any delivery is in one of these, the figures are still moving.
export const DELIVERY_PENDING = ['queued', 'sending', 'retrying'];
