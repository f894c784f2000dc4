import { api, toastError, usePager } from '../api.js';
import { AUDIT_ACTIONS, formatTime, OUTCOMES, ROLE_LABELS, TARGET_TYPES } from '../labels.js';

// "2026-11-23" -> "2026-11-24": the API's `until` is exclusive, a picked end day is inclusive.
function nextDay(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + 1));
  return t.toISOString().slice(0, 10);
}

const DETAIL_LABELS = {
  username: '用户名', role: '角色', from: '原角色', to: '新角色', code: '事项编码', failures: '失败次数',
  file: '文件', created: '新增', updated: '更新', rejected: '拒绝', rows: '行数', department: '部门',
  minutes: '分钟',
};

export default {
  name: 'AuditPage',
  setup() {
    const filters = Vue.reactive({ action: '', range: null });
    const rows = Vue.ref([]);
    const total = Vue.ref(0);
    const { page, pageSize, onPage, onSize, first } = usePager(() => load(), 50);
    const loading = Vue.ref(false);
    const actionOptions = Object.entries(AUDIT_ACTIONS).map(([value, label]) => ({ value, label }));

    async function load() {
      loading.value = true;
      try {
        const query = { action: filters.action, page: page.value, page_size: pageSize.value };
        if (filters.range && filters.range.length === 2) {
          // Naive times are read by the server as Beijing time, which is what staff mean.
          query.since = filters.range[0] + 'T00:00:00';
          query.until = nextDay(filters.range[1]) + 'T00:00:00';
        }
        const res = await api('GET', '/api/v1/audit-log', { query });
        rows.value = res.items;
        total.value = res.total;
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    }

    const search = first;

    function actionLabel(action) {
      return AUDIT_ACTIONS[action] || action;
    }
    function roleLabel(role) {
      if (!role) return '—';
      if (role === 'cli') return '命令行';
      return ROLE_LABELS[role] || role;
    }
    function actor(row) {
      if (row.actor_id == null) return row.actor_role === 'cli' || !row.actor_role ? '系统' : '—';
      return '用户 #' + row.actor_id;
    }
    function target(row) {
      const type = TARGET_TYPES[row.target_type] || row.target_type;
      if (!type) return '—';
      return row.target_id ? `${type} ${row.target_id}` : type;
    }
    function details(row) {
      const d = row.details || {};
      return Object.entries(d)
        .filter(([, v]) => v !== null && v !== '')
        .map(([k, v]) => {
          let value = v;
          if ((k === 'role' || k === 'from' || k === 'to') && ROLE_LABELS[v]) value = ROLE_LABELS[v];
          else if (typeof v === 'object') value = JSON.stringify(v);
          return `${DETAIL_LABELS[k] || k}：${value}`;
        })
        .join('；');
    }

    Vue.onMounted(load);

    return { filters, rows, total, page, pageSize, loading, actionOptions, load, search, onPage, onSize,
      actionLabel, roleLabel, actor, target, details, formatTime, OUTCOMES };
  },
  template: `
  <div data-testid="audit-page">
    <div class="page-head">
      <div>
        <h2 class="page-title">审计日志</h2>
        <p class="page-sub">安全相关操作的只读记录，保存不少于 180 天。查看日志本身也会被记录。</p>
      </div>
      <div class="page-actions"><el-button @click="load" :loading="loading" data-testid="audit-refresh">刷新</el-button></div>
    </div>
    <el-card shadow="never" class="filter-card">
      <el-form inline @submit.prevent="search" class="filter-form">
        <el-form-item label="操作类型">
          <el-select v-model="filters.action" placeholder="全部操作" clearable filterable style="width:200px"
                     data-testid="audit-filter-action" @change="search">
            <el-option v-for="o in actionOptions" :key="o.value" :label="o.label" :value="o.value" />
          </el-select>
        </el-form-item>
        <el-form-item label="日期">
          <el-date-picker v-model="filters.range" type="daterange" value-format="YYYY-MM-DD" range-separator="至"
                          start-placeholder="开始日期" end-placeholder="结束日期" style="width:260px" @change="search" />
        </el-form-item>
        <el-form-item>
          <el-button type="primary" native-type="submit" data-testid="audit-search">查询</el-button>
        </el-form-item>
      </el-form>
    </el-card>
    <el-card shadow="never">
      <el-table :data="rows" v-loading="loading" element-loading-text="正在加载…" stripe border size="small"
                empty-text="没有符合条件的日志" data-testid="audit-table">
        <el-table-column label="时间" width="170">
          <template #default="{ row }"><span class="mono">{{ formatTime(row.at) }}</span></template>
        </el-table-column>
        <el-table-column label="操作人" width="100">
          <template #default="{ row }"><span data-testid="audit-actor">{{ actor(row) }}</span></template>
        </el-table-column>
        <el-table-column label="角色" width="110">
          <template #default="{ row }"><span data-testid="audit-role">{{ roleLabel(row.actor_role) }}</span></template>
        </el-table-column>
        <el-table-column label="操作" width="150">
          <template #default="{ row }">
            <span data-testid="audit-action" :title="row.action">{{ actionLabel(row.action) }}</span>
          </template>
        </el-table-column>
        <el-table-column label="对象" min-width="130">
          <template #default="{ row }">{{ target(row) }}</template>
        </el-table-column>
        <el-table-column label="结果" width="80" align="center">
          <template #default="{ row }">
            <el-tag :type="row.outcome === 'success' ? 'success' : 'danger'" size="small">{{ OUTCOMES[row.outcome] || row.outcome }}</el-tag>
          </template>
        </el-table-column>
        <el-table-column prop="ip" label="IP" width="130">
          <template #default="{ row }"><span class="mono">{{ row.ip || '—' }}</span></template>
        </el-table-column>
        <el-table-column label="详情" min-width="200" show-overflow-tooltip>
          <template #default="{ row }">{{ details(row) }}</template>
        </el-table-column>
      </el-table>
      <div class="pager">
        <el-pagination background layout="total, sizes, prev, pager, next, jumper" :total="total"
                       :current-page="page" :page-size="pageSize" :page-sizes="[20, 50, 100, 200]"
                       @current-change="onPage" @size-change="onSize" data-testid="audit-pager" />
      </div>
    </el-card>
  </div>`,
};
