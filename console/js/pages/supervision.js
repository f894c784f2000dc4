// 督办 (supervisor): the department at a glance (open, overdue, due today, 通报, held
// content), open versus overdue work per consultant, and the supervisor's queues:
// late and escalated cases, cases waiting for dispatch, the moderation queue,
// call-backs (回访) and rectifications (整改) with evidence, appeal and review.

import { fetchAllPages, toastError } from '../api.js';
import { formatTime } from '../labels.js';
import CaseAssignDialog from './cases-assign.js';
import { casesApi, ensureStyles, loadCaseOptions, optional, statusTag, timeLeft } from './cases-api.js';

const OUTCOMES = [
  { value: 'satisfied', label: '满意' },
  { value: 'neutral', label: '一般' },
  { value: 'dissatisfied', label: '不满意' },
];
const RECT_STATUSES = [
  { value: 'open', label: '整改中' }, { value: 'submitted', label: '待确认' }, { value: 'appealed', label: '申诉中' },
  { value: 'closed', label: '已完成' }, { value: 'overturned', label: '已撤销' },
];
const RECT_TAGS = { open: 'danger', submitted: 'warning', appealed: 'warning', closed: 'success', overturned: 'info' };

function open(id) {
  window.location.hash = '#/cases/' + id;
}

export default {
  name: 'SupervisionPage',
  components: { CaseAssignDialog },
  setup() {
    ensureStyles();
    const tab = Vue.ref('late');
    const overview = Vue.ref(null);
    const overviewMissing = Vue.ref(false);
    const loading = Vue.ref(false);
    const chartEl = Vue.ref(null);
    let chart = null;
    let unmounted = false;

    const queue = Vue.reactive({ rows: [], loading: false });
    const held = Vue.reactive({ rows: [], total: 0, loading: false });
    const callbacks = Vue.reactive({ rows: [], total: 0, status: 'open', loading: false, missing: false });
    const rects = Vue.reactive({ rows: [], total: 0, status: '', scope: 'department', loading: false, missing: false });
    const assign = Vue.reactive({ open: false, target: null });
    const cb = Vue.reactive({ open: false, row: null, status: 'done', outcome: 'satisfied', notes: '', saving: false });

    // The open cases of the department, for the chart and the dispatch queue.
    async function loadOpen() {
      const { items } = await fetchAllPages('/api/v1/consultations', { scope: 'department' }, 100, 20);
      return items;
    }

    function draw(items) {
      if (unmounted || !chartEl.value) return;
      const per = new Map();
      for (const c of items) {
        const name = c.assignee ? c.assignee.name : '待派单';
        if (!per.has(name)) per.set(name, { open: 0, overdue: 0 });
        const p = per.get(name);
        p.open += 1;
        if (timeLeft(c).type === 'danger') p.overdue += 1;
      }
      const names = [...per.keys()].sort((a, b) => per.get(b).open - per.get(a).open);
      if (chart) chart.dispose();
      chart = echarts.init(chartEl.value);
      chart.setOption({
        // A work tool, read at a glance: no grow-in animation.
        animation: false,
        color: ['#1f6fb2', '#e26d5c'],
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 36, bottom: 40 },
        xAxis: { type: 'category', data: names, axisLabel: { interval: 0 } },
        yAxis: { type: 'value', minInterval: 1, name: '件' },
        series: [
          { name: '在办', type: 'bar', barMaxWidth: 36, data: names.map((n) => per.get(n).open), label: { show: true, position: 'top' } },
          { name: '超期', type: 'bar', barMaxWidth: 36, data: names.map((n) => per.get(n).overdue), label: { show: true, position: 'top' } },
        ],
      });
    }

    async function loadOverview() {
      loading.value = true;
      queue.loading = true;
      try {
        const [ov, items] = await Promise.all([optional(() => casesApi.overview()), loadOpen()]);
        overviewMissing.value = ov.missing;
        overview.value = ov.data || {
          // Without the overview route, what the lists say.
          open: items.length, overdue: items.filter((c) => timeLeft(c).type === 'danger').length,
          due_today: 0, escalated: 0, held_for_moderation: held.total,
          cases: items.filter((c) => timeLeft(c).type === 'danger').map((c) => ({
            id: c.id, title: c.title, status: c.status, status_label: c.status_label,
            assignee_name: c.assignee ? c.assignee.name : null, due_at: c.due_at,
            overdue_hours: Math.max(0, Math.ceil(-c.time_left_seconds / 3600)), escalated: false })),
        };
        // Held content is the 内容审核 tab's business, not the dispatch queue's.
        queue.rows = items.filter((c) => c.status === 'new' && !c.assignee && ['pass', 'released'].includes(c.moderation));
        Vue.nextTick(() => draw(items));
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
        queue.loading = false;
      }
    }

    async function loadHeld() {
      held.loading = true;
      try {
        const res = await casesApi.moderation({ page: 1, page_size: 100 });
        held.rows = res.items;
        held.total = res.total;
      } catch (e) {
        toastError(e);
      } finally {
        held.loading = false;
      }
    }

    async function loadCallbacks() {
      callbacks.loading = true;
      try {
        const res = await optional(() => casesApi.callbacks({ status: callbacks.status, page: 1, page_size: 100 }));
        callbacks.missing = res.missing;
        callbacks.rows = res.data ? res.data.items : [];
        callbacks.total = res.data ? res.data.total : 0;
      } catch (e) {
        toastError(e);
      } finally {
        callbacks.loading = false;
      }
    }

    async function loadRects() {
      rects.loading = true;
      try {
        const res = await optional(() => casesApi.rectifications({ status: rects.status, scope: rects.scope, page: 1, page_size: 100 }));
        rects.missing = res.missing;
        rects.rows = res.data ? res.data.items : [];
        rects.total = res.data ? res.data.total : 0;
      } catch (e) {
        toastError(e);
      } finally {
        rects.loading = false;
      }
    }

    function loadAll() {
      loadHeld().then(loadOverview);
      loadCallbacks();
      loadRects();
    }

    function openAssign(row) {
      assign.target = row;
      assign.open = true;
    }

    async function release(row) {
      try {
        await casesApi.release(row.id);
        ElementPlus.ElMessage({ type: 'success', message: `#${row.id} 已放行并派单` });
      } catch (e) {
        toastError(e);
      }
      loadHeld().then(loadOverview);
    }

    async function askText(message, title, confirm, placeholder, min = 2) {
      try {
        const { value } = await ElementPlus.ElMessageBox.prompt(message, title, {
          confirmButtonText: confirm, cancelButtonText: '取消', inputType: 'textarea', inputPlaceholder: placeholder,
          closeOnClickModal: false, inputValidator: (v) => (v && v.trim().length >= min ? true : `请至少填写 ${min} 个字`),
        });
        return value.trim();
      } catch (e) {
        return null;
      }
    }

    async function reject(row) {
      const reason = await askText(`#${row.id} 将被撤回，企业会收到原因。`, '审核不通过', '不通过', '不通过的原因（企业可见）');
      if (reason === null) return;
      try {
        await casesApi.rejectContent(row.id, reason);
        ElementPlus.ElMessage({ type: 'success', message: `#${row.id} 审核不通过，已告知企业` });
      } catch (e) {
        toastError(e);
      }
      loadHeld().then(loadOverview);
    }

    function openCallback(row) {
      Object.assign(cb, { open: true, row, status: 'done', outcome: 'satisfied', notes: '' });
    }

    async function saveCallback() {
      cb.saving = true;
      try {
        const body = { status: cb.status, notes: cb.notes.trim() };
        if (cb.status === 'done') body.outcome = cb.outcome;
        await casesApi.recordCallback(cb.row.id, body);
        ElementPlus.ElMessage({ type: 'success', message: '回访结果已登记' });
        cb.open = false;
        loadCallbacks();
      } catch (e) {
        toastError(e);
      } finally {
        cb.saving = false;
      }
    }

    async function rectify(row, step) {
      let body = {};
      if (step === 'evidence') {
        const text = await askText('写明整改做了什么、材料在哪里，提交后由主管确认。', '提交整改材料', '提交', '整改情况及材料说明', 5);
        if (text === null) return;
        body = { evidence: text };
      } else if (step === 'appeal') {
        const text = await askText('认为该差评不应由本部门整改时申诉，由其他主管复核。', '申诉', '提交申诉', '申诉理由');
        if (text === null) return;
        body = { reason: text };
      } else if (step === 'close') {
        try {
          await ElementPlus.ElMessageBox.confirm('确认整改已完成？', '确认整改', { type: 'warning', confirmButtonText: '确认完成', cancelButtonText: '取消' });
        } catch (e) {
          return;
        }
      } else if (step === 'uphold' || step === 'overturn') {
        const comment = await askText(step === 'uphold' ? '维持整改：部门须继续整改。' : '申诉成立：撤销该整改。', '申诉复核',
          '确定', '复核意见', 0);
        if (comment === null) return;
        body = { decision: step === 'uphold' ? 'upheld' : 'overturned', comment };
        step = 'decide';
      }
      try {
        await casesApi.rectify(row.id, step, body);
        ElementPlus.ElMessage({ type: 'success', message: '已处理' });
      } catch (e) {
        toastError(e);
      }
      loadRects();
    }

    function onResize() {
      if (chart) chart.resize();
    }

    Vue.onMounted(() => {
      loadCaseOptions().catch(() => {});
      window.addEventListener('resize', onResize);
      loadAll();
    });
    Vue.onBeforeUnmount(() => {
      unmounted = true;
      window.removeEventListener('resize', onResize);
      if (chart) chart.dispose();
      chart = null;
    });

    return { tab, overview, overviewMissing, loading, chartEl, queue, held, callbacks, rects, assign, cb, OUTCOMES,
      RECT_STATUSES, RECT_TAGS, loadAll, loadOverview, loadHeld, loadCallbacks, loadRects, openAssign, release, reject,
      openCallback, saveCallback, rectify, open, formatTime, statusTag, timeLeft };
  },
  template: `
  <div data-testid="supervision-page">
    <div class="page-head">
      <div>
        <h2 class="page-title">督办</h2>
        <p class="page-sub">本部门的超期与通报、派单、内容审核、回访和整改</p>
      </div>
      <el-button @click="loadAll" :loading="loading">刷新</el-button>
    </div>

    <el-row :gutter="16" class="stat-row" v-if="overview">
      <el-col :xs="12" :sm="4"><div class="stat-card" data-testid="stat-open"><div class="stat-num">{{ overview.open }}</div><div class="stat-label">未结事项</div></div></el-col>
      <el-col :xs="12" :sm="5"><div class="stat-card" data-testid="stat-overdue"><div class="stat-num" style="color:#c45656">{{ overview.overdue }}</div><div class="stat-label">超期未答复</div></div></el-col>
      <el-col :xs="12" :sm="5"><div class="stat-card" data-testid="stat-due-today"><div class="stat-num" style="color:#e6a23c">{{ overview.due_today }}</div><div class="stat-label">今日到期</div></div></el-col>
      <el-col :xs="12" :sm="5"><div class="stat-card" data-testid="stat-escalated"><div class="stat-num">{{ overview.escalated }}</div><div class="stat-label">已通报未办结</div></div></el-col>
      <el-col :xs="12" :sm="5"><div class="stat-card" data-testid="stat-held"><div class="stat-num">{{ overview.held_for_moderation }}</div><div class="stat-label">待内容审核</div></div></el-col>
    </el-row>

    <el-card shadow="never" class="chart-card">
      <template #header><span class="card-title">各咨询员在办与超期事项</span></template>
      <div ref="chartEl" class="chart" data-testid="chart-workload"></div>
    </el-card>

    <el-tabs v-model="tab" data-testid="supervision-tabs">
      <el-tab-pane name="late">
        <template #label><span data-testid="tab-late">超期 / 通报</span></template>
        <el-table :data="overview ? overview.cases : []" v-loading="loading" border stripe empty-text="没有超期或已通报的事项"
                  data-testid="late-table">
          <el-table-column label="编号" width="80" align="center"><template #default="{ row }"><span class="mono">#{{ row.id }}</span></template></el-table-column>
          <el-table-column label="内容" min-width="240">
            <template #default="{ row }"><el-link type="primary" :underline="false" @click="open(row.id)">{{ row.title }}</el-link></template>
          </el-table-column>
          <el-table-column label="状态" width="100" align="center"><template #default="{ row }"><el-tag disable-transitions size="small" :type="statusTag(row.status)">{{ row.status_label }}</el-tag></template></el-table-column>
          <el-table-column label="承办人" width="110"><template #default="{ row }">{{ row.assignee_name || '待派单' }}</template></el-table-column>
          <el-table-column label="办理期限" width="170"><template #default="{ row }">{{ formatTime(row.due_at).slice(0, 16) }}</template></el-table-column>
          <el-table-column label="超期" width="170">
            <template #default="{ row }">
              <el-tag disable-transitions v-if="row.overdue_hours > 0" type="danger" effect="dark" size="small">已超期 {{ row.overdue_hours }} 小时</el-tag>
              <el-tag disable-transitions v-if="row.escalated" type="danger" effect="plain" size="small" class="term-tag">已通报</el-tag>
            </template>
          </el-table-column>
          <el-table-column label="操作" width="90" align="center"><template #default="{ row }"><el-button link type="primary" @click="open(row.id)">督办</el-button></template></el-table-column>
        </el-table>
      </el-tab-pane>

      <el-tab-pane name="dispatch">
        <template #label><span data-testid="tab-dispatch">待派单 <el-badge v-if="queue.rows.length" :value="queue.rows.length" class="review-badge" /></span></template>
        <el-table :data="queue.rows" v-loading="queue.loading" border stripe empty-text="没有待派单的事项" data-testid="dispatch-table">
          <el-table-column label="编号" width="80" align="center"><template #default="{ row }"><span class="mono">#{{ row.id }}</span></template></el-table-column>
          <el-table-column label="内容" min-width="240">
            <template #default="{ row }">
              <el-link type="primary" :underline="false" @click="open(row.id)" data-testid="dispatch-title">{{ row.title }}</el-link>
              <div class="item-code">{{ row.enterprise ? row.enterprise.name : '' }}</div>
            </template>
          </el-table-column>
          <el-table-column label="主题" width="120"><template #default="{ row }">{{ row.topic ? row.topic.name : '未分类' }}</template></el-table-column>
          <el-table-column label="办理期限" width="170">
            <template #default="{ row }"><el-tag disable-transitions :type="timeLeft(row).type" size="small" effect="dark">{{ timeLeft(row).text }}</el-tag></template>
          </el-table-column>
          <el-table-column label="操作" width="100" align="center">
            <template #default="{ row }"><el-button type="primary" size="small" @click="openAssign(row)" data-testid="dispatch-assign">派单</el-button></template>
          </el-table-column>
        </el-table>
      </el-tab-pane>

      <el-tab-pane name="moderation">
        <template #label><span data-testid="tab-moderation">内容审核 <el-badge v-if="held.total" :value="held.total" class="review-badge" /></span></template>
        <el-alert type="info" :closable="false" show-icon class="filter-card"
                  title="微信内容安全检查提示需人工审核的事项：放行后自动派单；不通过则撤回并告知企业原因。" />
        <el-table :data="held.rows" v-loading="held.loading" border stripe empty-text="没有待审核的内容" data-testid="moderation-table">
          <el-table-column label="编号" width="80" align="center"><template #default="{ row }"><span class="mono">#{{ row.id }}</span></template></el-table-column>
          <el-table-column label="内容" min-width="260">
            <template #default="{ row }">
              <el-link type="primary" :underline="false" @click="open(row.id)" data-testid="moderation-title">{{ row.title }}</el-link>
              <div class="item-code">{{ row.enterprise ? row.enterprise.name : '' }}　{{ row.kind_label }}</div>
            </template>
          </el-table-column>
          <el-table-column label="审核状态" width="110" align="center">
            <template #default="{ row }"><el-tag disable-transitions size="small" type="warning">{{ row.moderation === 'pending' ? '待内容检查' : '待人工审核' }}</el-tag></template>
          </el-table-column>
          <el-table-column label="受理时间" width="170"><template #default="{ row }">{{ formatTime(row.accepted_at).slice(0, 16) }}</template></el-table-column>
          <el-table-column label="操作" width="170" align="center">
            <template #default="{ row }">
              <el-button v-if="row.moderation === 'held'" link type="success" @click="release(row)" data-testid="moderation-release">放行</el-button>
              <el-button v-if="row.moderation === 'held'" link type="danger" @click="reject(row)" data-testid="moderation-reject">不通过</el-button>
              <span v-else class="muted">等待微信检查</span>
            </template>
          </el-table-column>
        </el-table>
      </el-tab-pane>

      <el-tab-pane name="callbacks">
        <template #label><span data-testid="tab-callbacks">回访</span></template>
        <el-alert v-if="callbacks.missing" type="info" :closable="false" show-icon title="回访功能尚未开通。" />
        <template v-else>
          <el-radio-group v-model="callbacks.status" @change="loadCallbacks" style="margin-bottom:12px" data-testid="callback-status">
            <el-radio-button value="open">待回访</el-radio-button>
            <el-radio-button value="done">已回访</el-radio-button>
            <el-radio-button value="unreachable">未联系上</el-radio-button>
          </el-radio-group>
          <el-table :data="callbacks.rows" v-loading="callbacks.loading" border stripe empty-text="没有回访任务" data-testid="callbacks-table">
            <el-table-column label="事项" min-width="220">
              <template #default="{ row }">
                <el-link type="primary" :underline="false" @click="open(row.consultation_id)">#{{ row.consultation_id }} {{ row.title }}</el-link>
              </template>
            </el-table-column>
            <el-table-column label="企业 / 电话" min-width="180">
              <template #default="{ row }">
                <div>{{ row.enterprise ? row.enterprise.name : '—' }}</div>
                <div class="item-code">{{ row.contact_name }} {{ row.contact_phone }}</div>
              </template>
            </el-table-column>
            <el-table-column label="企业评价" width="120">
              <template #default="{ row }">{{ row.rating ? row.rating.score + ' 分 ' + row.rating.label : '未评价' }}</template>
            </el-table-column>
            <el-table-column label="回访期限" width="160">
              <template #default="{ row }">
                {{ formatTime(row.due_at).slice(0, 16) }}
                <el-tag disable-transitions v-if="row.overdue" type="danger" size="small">超期</el-tag>
              </template>
            </el-table-column>
            <el-table-column label="结果" width="160">
              <template #default="{ row }">
                <el-tag disable-transitions size="small" :type="row.status === 'open' ? 'warning' : 'info'">{{ row.status_label }}</el-tag>
                <span v-if="row.outcome_label">　{{ row.outcome_label }}</span>
                <div v-if="row.notes" class="item-code">{{ row.notes }}</div>
              </template>
            </el-table-column>
            <el-table-column label="操作" width="110" align="center">
              <template #default="{ row }">
                <el-button v-if="row.status !== 'done'" link type="primary" @click="openCallback(row)" data-testid="callback-record">登记回访</el-button>
              </template>
            </el-table-column>
          </el-table>
        </template>
      </el-tab-pane>

      <el-tab-pane name="rectifications">
        <template #label><span data-testid="tab-rectifications">整改</span></template>
        <el-alert v-if="rects.missing" type="info" :closable="false" show-icon title="整改功能尚未开通。" />
        <template v-else>
          <el-form inline class="filter-form">
            <el-form-item label="范围">
              <el-radio-group v-model="rects.scope" @change="loadRects">
                <el-radio-button value="department">本部门整改</el-radio-button>
                <el-radio-button value="appeals">待复核的申诉</el-radio-button>
              </el-radio-group>
            </el-form-item>
            <el-form-item label="状态">
              <el-select v-model="rects.status" clearable placeholder="全部" style="width:120px" @change="loadRects">
                <el-option v-for="s in RECT_STATUSES" :key="s.value" :value="s.value" :label="s.label" />
              </el-select>
            </el-form-item>
          </el-form>
          <el-table :data="rects.rows" v-loading="rects.loading" border stripe empty-text="没有整改事项" data-testid="rects-table">
            <el-table-column label="事项" min-width="220">
              <template #default="{ row }">
                <el-link type="primary" :underline="false" @click="open(row.consultation.id)">#{{ row.consultation.id }} {{ row.consultation.title }}</el-link>
                <div class="item-code">{{ row.consultation.enterprise.name }}</div>
              </template>
            </el-table-column>
            <el-table-column label="差评" width="110"><template #default="{ row }">{{ row.score }} 分 {{ row.score_label }}</template></el-table-column>
            <el-table-column label="状态" width="130">
              <template #default="{ row }">
                <el-tag disable-transitions size="small" :type="RECT_TAGS[row.status] || 'info'">{{ row.status_label }}</el-tag>
                <el-tag disable-transitions v-if="row.overdue" size="small" type="danger" effect="dark" class="term-tag">超期</el-tag>
              </template>
            </el-table-column>
            <el-table-column label="整改期限" width="150"><template #default="{ row }">{{ formatTime(row.due_at).slice(0, 16) }}</template></el-table-column>
            <el-table-column label="整改材料 / 申诉" min-width="200">
              <template #default="{ row }">
                <div v-if="row.evidence">{{ row.evidence }}</div>
                <div v-if="row.appeal_reason" class="item-code">申诉：{{ row.appeal_reason }}</div>
                <div v-if="row.appeal_comment" class="item-code">复核：{{ row.appeal_comment }}</div>
              </template>
            </el-table-column>
            <el-table-column label="操作" width="200" align="center">
              <template #default="{ row }">
                <el-button v-if="row.actions.includes('evidence')" link type="primary" @click="rectify(row, 'evidence')" data-testid="rect-evidence">提交材料</el-button>
                <el-button v-if="row.actions.includes('close')" link type="success" @click="rectify(row, 'close')" data-testid="rect-close">确认完成</el-button>
                <el-button v-if="row.actions.includes('appeal')" link type="warning" @click="rectify(row, 'appeal')" data-testid="rect-appeal">申诉</el-button>
                <template v-if="row.actions.includes('decide')">
                  <el-button link type="danger" @click="rectify(row, 'uphold')" data-testid="rect-uphold">维持整改</el-button>
                  <el-button link type="success" @click="rectify(row, 'overturn')" data-testid="rect-overturn">撤销整改</el-button>
                </template>
              </template>
            </el-table-column>
          </el-table>
        </template>
      </el-tab-pane>
    </el-tabs>

    <case-assign-dialog v-model="assign.open" :target="assign.target" @assigned="loadOverview" />

    <el-dialog v-model="cb.open" title="登记回访结果" width="480px" append-to-body :close-on-click-modal="false">
      <div data-testid="callback-dialog" v-if="cb.row">
        <p class="muted">#{{ cb.row.consultation_id }} {{ cb.row.title }}<br>{{ cb.row.enterprise ? cb.row.enterprise.name : '' }} {{ cb.row.contact_phone }}</p>
        <el-form label-width="80px">
          <el-form-item label="回访情况">
            <el-radio-group v-model="cb.status" data-testid="callback-form-status">
              <el-radio value="done">已回访</el-radio>
              <el-radio value="unreachable">未联系上</el-radio>
            </el-radio-group>
          </el-form-item>
          <el-form-item v-if="cb.status === 'done'" label="回访结果">
            <el-radio-group v-model="cb.outcome" data-testid="callback-outcome">
              <el-radio v-for="o in OUTCOMES" :key="o.value" :value="o.value">{{ o.label }}</el-radio>
            </el-radio-group>
          </el-form-item>
          <el-form-item label="记录">
            <el-input v-model="cb.notes" type="textarea" :rows="3" maxlength="500" placeholder="企业的意见或未联系上的情况" data-testid="callback-notes" />
          </el-form-item>
        </el-form>
      </div>
      <template #footer>
        <el-button @click="cb.open = false">取消</el-button>
        <el-button type="primary" :loading="cb.saving" @click="saveCallback" data-testid="callback-submit">保存</el-button>
      </template>
    </el-dialog>
  </div>`,
};
