// 流程再造方案: the list, a form to open one (pre-filled when coming from the friction
// or bundle view), its state changes (已提出 → 已批准 → 已上线 → 已评估 / 已放弃) and,
// once live, the before/after comparison with the test used and whether the change
// is beyond noise. Supervisors read the proposals touching their department.

import { api, fetchAllPages, session, toastError } from '../api.js';
import { can } from '../labels.js';

const STATUS_TAGS = { proposed: 'info', approved: 'warning', live: 'primary', evaluated: 'success', abandoned: 'info' };
const NEXT_LABELS = { approved: '批准', live: '上线', evaluated: '评估定稿', abandoned: '放弃' };
const METRICS = [
  { value: 'cases', label: '咨询件数' }, { value: 'repeat_share', label: '重复咨询占比' },
  { value: 'overdue_share', label: '超期占比' }, { value: 'on_time_rate', label: '按时答复率' },
  { value: 'poor_share', label: '差评占比' }, { value: 'complaints', label: '投诉件数' },
  { value: 'close_p50_hours', label: '办结时长中位数' },
];

function blank() {
  return { title: '', service_item_ids: [], bundle: null, problem: '', change: '', owner_name: '', go_live: null,
    metrics: ['cases', 'overdue_share', 'poor_share'] };
}

export default {
  name: 'ProposalsPage',
  setup() {
    const rows = Vue.ref([]);
    const total = Vue.ref(0);
    const status = Vue.ref('');
    const loading = Vue.ref(false);
    const items = Vue.ref([]);
    const form = Vue.reactive({ open: false, saving: false, data: blank() });
    const detail = Vue.reactive({ open: false, row: null, busy: false });
    const isOfficer = Vue.computed(() => can(session.user, 'insights.propose'));

    async function load() {
      loading.value = true;
      try {
        const res = await api('GET', '/api/v1/proposals', { query: { status: status.value, page_size: 100 } });
        rows.value = res.items;
        total.value = res.total;
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    }

    async function loadItems() {
      try {
        items.value = (await fetchAllPages('/api/v1/service-items', {}, 50, 10)).items;
      } catch (e) {
        items.value = [];
      }
    }

    function openNew(prefill) {
      form.data = { ...blank(), ...(prefill || {}) };
      if (form.data.bundle) form.data.service_item_ids = form.data.bundle.slice();
      form.open = true;
    }

    async function save() {
      form.saving = true;
      try {
        const body = { ...form.data };
        if (!body.bundle) delete body.bundle;
        if (!body.go_live) delete body.go_live;
        await api('POST', '/api/v1/proposals', { body });
        form.open = false;
        ElementPlus.ElMessage({ type: 'success', message: '方案已提出' });
        load();
      } catch (e) {
        toastError(e);
      } finally {
        form.saving = false;
      }
    }

    async function show(row) {
      detail.open = true;
      detail.row = row;
      try {
        detail.row = await api('GET', '/api/v1/proposals/' + row.id);
      } catch (e) {
        toastError(e);
      }
    }

    async function move(to) {
      detail.busy = true;
      try {
        detail.row = await api('POST', '/api/v1/proposals/' + detail.row.id + '/transition', { body: { to } });
        ElementPlus.ElMessage({ type: 'success', message: '状态已更新为“' + detail.row.status_label + '”' });
        load();
      } catch (e) {
        toastError(e);
      } finally {
        detail.busy = false;
      }
    }

    const fmt = (v) => (v === null || v === undefined ? '—' : v);
    Vue.onMounted(() => {
      load();
      loadItems();
      const raw = window.sessionStorage.getItem('sz.proposal.prefill');
      if (raw && isOfficer.value) {
        window.sessionStorage.removeItem('sz.proposal.prefill');
        try {
          openNew(JSON.parse(raw));
        } catch (e) {
          /* a stale value: ignore */
        }
      }
    });

    return { rows, total, status, loading, items, form, detail, isOfficer, METRICS, NEXT_LABELS, STATUS_TAGS, load,
      openNew, save, show, move, fmt };
  },
  template: `
  <div class="proposals-page">
    <div class="toolbar" style="display: flex; gap: 8px; margin-bottom: 12px">
      <el-select v-model="status" clearable placeholder="全部状态" style="width: 140px" @change="load">
        <el-option v-for="(l, v) in { proposed: '已提出', approved: '已批准', live: '已上线', evaluated: '已评估', abandoned: '已放弃' }"
          :key="v" :label="l" :value="v" />
      </el-select>
      <el-button v-if="isOfficer" type="primary" @click="openNew()" data-testid="proposal-new">提出方案</el-button>
    </div>
    <el-table :data="rows" v-loading="loading" border size="small" data-testid="proposal-table" @row-click="show">
      <el-table-column prop="id" label="编号" width="70" />
      <el-table-column prop="title" label="方案" min-width="200" />
      <el-table-column label="事项" min-width="200"><template #default="{ row }">{{ row.items.map((i) => i.name).join('、') }}</template></el-table-column>
      <el-table-column prop="owner_name" label="负责人" width="100" />
      <el-table-column prop="go_live" label="上线日期" width="110" />
      <el-table-column label="状态" width="90"><template #default="{ row }">
        <el-tag :type="STATUS_TAGS[row.status]" size="small">{{ row.status_label }}</el-tag></template></el-table-column>
    </el-table>
    <el-dialog v-model="form.open" title="提出流程再造方案" width="620px">
      <el-form label-width="90px">
        <el-form-item label="方案名称"><el-input v-model="form.data.title" maxlength="128" data-testid="proposal-title" /></el-form-item>
        <el-form-item label="涉及事项">
          <el-select v-model="form.data.service_item_ids" multiple filterable style="width: 100%">
            <el-option v-for="i in items" :key="i.id" :label="i.name" :value="i.id" />
          </el-select>
          <div v-if="form.data.bundle" class="muted">一口受理组合：{{ form.data.bundle.join(' + ') }}</div>
        </el-form-item>
        <el-form-item label="问题"><el-input v-model="form.data.problem" type="textarea" :rows="2" /></el-form-item>
        <el-form-item label="改进措施"><el-input v-model="form.data.change" type="textarea" :rows="2" /></el-form-item>
        <el-form-item label="负责人"><el-input v-model="form.data.owner_name" maxlength="64" /></el-form-item>
        <el-form-item label="计划上线"><el-date-picker v-model="form.data.go_live" type="date" value-format="YYYY-MM-DD" /></el-form-item>
        <el-form-item label="观察指标">
          <el-checkbox-group v-model="form.data.metrics">
            <el-checkbox v-for="m in METRICS" :key="m.value" :value="m.value">{{ m.label }}</el-checkbox>
          </el-checkbox-group>
        </el-form-item>
      </el-form>
      <template #footer>
        <el-button @click="form.open = false">取消</el-button>
        <el-button type="primary" :loading="form.saving" @click="save" data-testid="proposal-save">提出</el-button>
      </template>
    </el-dialog>
    <el-drawer v-model="detail.open" size="55%" :title="detail.row ? detail.row.title : ''">
      <template v-if="detail.row">
        <el-descriptions :column="2" border size="small">
          <el-descriptions-item label="状态">{{ detail.row.status_label }}</el-descriptions-item>
          <el-descriptions-item label="上线日期">{{ fmt(detail.row.go_live) }}</el-descriptions-item>
          <el-descriptions-item label="事项" :span="2">{{ detail.row.items.map((i) => i.name).join('、') }}</el-descriptions-item>
          <el-descriptions-item label="问题" :span="2">{{ detail.row.problem || '—' }}</el-descriptions-item>
          <el-descriptions-item label="措施" :span="2">{{ detail.row.change || '—' }}</el-descriptions-item>
        </el-descriptions>
        <div v-if="isOfficer" style="margin: 12px 0; display: flex; gap: 8px">
          <el-button v-for="n in detail.row.next" :key="n" :type="n === 'abandoned' ? 'danger' : 'primary'" plain
            :loading="detail.busy" @click="move(n)" :data-testid="'proposal-' + n">{{ NEXT_LABELS[n] }}</el-button>
        </div>
        <template v-if="detail.row.evaluation">
          <h4>前后对比（{{ detail.row.evaluation.before.since }}–{{ detail.row.evaluation.before.until }} 对
            {{ detail.row.evaluation.after.since }}–{{ detail.row.evaluation.after.until }}，各 {{ detail.row.evaluation.days }} 天）</h4>
          <el-table :data="detail.row.evaluation.metrics" size="small" border data-testid="evaluation-table">
            <el-table-column prop="label" label="指标" />
            <el-table-column label="之前" width="90"><template #default="{ row }">{{ fmt(row.before) }}</template></el-table-column>
            <el-table-column label="之后" width="90"><template #default="{ row }">{{ fmt(row.after) }}</template></el-table-column>
            <el-table-column label="变化" width="90"><template #default="{ row }">{{ fmt(row.change) }}</template></el-table-column>
            <el-table-column label="p 值" width="100"><template #default="{ row }">{{ row.p_value === null ? '—' : row.p_value.toFixed(4) }}</template></el-table-column>
            <el-table-column label="结论" width="120"><template #default="{ row }">
              <el-tag v-if="row.beyond_noise !== null" :type="row.beyond_noise ? 'success' : 'info'" size="small">
                {{ row.beyond_noise ? '超出随机波动' : '在随机波动内' }}</el-tag><span v-else>未检验</span></template></el-table-column>
          </el-table>
          <p class="muted" style="font-size: 12px">{{ detail.row.evaluation.tests }}</p>
        </template>
      </template>
    </el-drawer>
  </div>`,
};
