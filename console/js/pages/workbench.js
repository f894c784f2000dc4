// 工作台 (#/cases): a consultant's queue sorted by deadline with the time left, the
// department's unclaimed cases, claiming, and 登记来电. #/cases/{id} is one case (the
// links in staff notices point there); the shell routes by the first path segment,
// so this page switches between the list and the case itself on the hash.

import { session, toastError, usePager } from '../api.js';
import { formatTime } from '../labels.js';
import { CASE_OPTIONS, casesApi, ensureStyles, itemsOf, loadCaseOptions, statusTag, timeLeft } from './cases-api.js';
import CaseDetail from './cases-detail.js';
import CaseIntakeDialog from './cases-intake.js';

function caseIdFromHash() {
  const m = /^#\/?cases\/(\d+)/.exec(window.location.hash);
  return m ? Number(m[1]) : null;
}

// The tabs and the list query behind each. A supervisor works the department's
// whole queue and the cases no department has taken yet; a consultant their own.
const TABS = {
  consultant: [
    { name: 'mine', label: '我的待办', query: { scope: 'mine' } },
    { name: 'unclaimed', label: '本部门待认领', query: { scope: 'department', status: 'new' } },
    { name: 'department', label: '本部门全部', query: { scope: 'department' } },
  ],
  supervisor: [
    { name: 'department', label: '本部门全部', query: { scope: 'department' } },
    { name: 'unclaimed', label: '待派单', query: { scope: 'department', status: 'new' } },
    { name: 'unrouted', label: '未分派部门', query: { scope: 'unrouted', status: 'new' } },
    { name: 'mine', label: '我的待办', query: { scope: 'mine' } },
  ],
};

export default {
  name: 'WorkbenchPage',
  components: { CaseDetail, CaseIntakeDialog },
  setup() {
    ensureStyles();
    const caseId = Vue.ref(caseIdFromHash());
    const role = Vue.computed(() => (session.user ? session.user.role : ''));
    const tabs = Vue.computed(() => TABS[role.value] || TABS.consultant);
    const tab = Vue.ref(tabs.value[0].name);
    const filters = Vue.reactive({ kind: '', overdue: false });
    const rows = Vue.ref([]);
    const total = Vue.ref(0);
    const { page, pageSize, onPage, first } = usePager(() => load(), 20);
    const loading = Vue.ref(false);
    const claiming = Vue.ref(null);
    const intakeOpen = Vue.ref(false);
    const notices = Vue.reactive({ items: [], unread: 0 });

    const kinds = Vue.computed(() => Object.entries(CASE_OPTIONS.kinds).map(([value, label]) => ({ value, label })));
    const isConsultant = Vue.computed(() => role.value === 'consultant');

    async function load() {
      const current = tabs.value.find((t) => t.name === tab.value) || tabs.value[0];
      loading.value = true;
      try {
        const res = await casesApi.list({ ...current.query, kind: filters.kind, overdue: filters.overdue ? true : '',
          page: page.value, page_size: pageSize.value });
        rows.value = res.items;
        total.value = res.total;
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    }

    async function loadNotices() {
      try {
        const res = await casesApi.inbox({ unread_only: true, page: 1, page_size: 8 });
        notices.items = itemsOf(res);
        notices.unread = res.unread || 0;
      } catch (e) {
        /* notices are a convenience; the queue itself reports errors */
      }
    }

    function refresh() {
      load();
      loadNotices();
    }

    const onTab = first;

    function open(id) {
      window.location.hash = '#/cases/' + id;
    }

    async function openNotice(n) {
      casesApi.readNotice(n.id).catch(() => {});
      const m = /#\/cases\/(\d+)/.exec(n.page || '');
      if (m) open(m[1]);
      else loadNotices();
    }

    async function claim(row) {
      claiming.value = row.id;
      try {
        await casesApi.claim(row.id);
        ElementPlus.ElMessage({ type: 'success', message: `已认领 #${row.id}，请在期限内答复` });
        load();
      } catch (e) {
        toastError(e);
        load();
      } finally {
        claiming.value = null;
      }
    }

    function channelLabel(row) {
      return CASE_OPTIONS.channels[row.channel] || row.channel;
    }

    function onCreated(c) {
      open(c.id);
    }

    function onHash() {
      const id = caseIdFromHash();
      const wasDetail = caseId.value !== null;
      caseId.value = id;
      if (id === null && wasDetail) refresh();
    }

    Vue.onMounted(() => {
      window.addEventListener('hashchange', onHash);
      loadCaseOptions().catch(toastError);
      if (caseId.value === null) refresh();
    });
    Vue.onBeforeUnmount(() => window.removeEventListener('hashchange', onHash));

    return { caseId, tabs, tab, filters, rows, total, page, pageSize, loading, claiming, intakeOpen, notices, kinds,
      isConsultant, load, refresh, onTab, onPage, open, openNotice, claim, onCreated, channelLabel, formatTime, statusTag, timeLeft };
  },
  template: `
  <case-detail v-if="caseId" :case-id="caseId" :key="caseId" />
  <div v-else data-testid="workbench-page">
    <div class="page-head">
      <div>
        <h2 class="page-title">工作台</h2>
        <p class="page-sub">按办理期限排序：红色为已超期，橙色为即将到期；答复、补充、退单均记入办理记录</p>
      </div>
      <div class="page-actions">
        <el-button type="primary" @click="intakeOpen = true" data-testid="intake-open">登记来电</el-button>
        <el-button @click="refresh" :loading="loading">刷新</el-button>
      </div>
    </div>

    <el-card v-if="notices.items.length" shadow="never" class="filter-card" data-testid="notices">
      <template #header><span class="card-title">待办提醒（{{ notices.unread }} 条未读）</span></template>
      <ul class="notice-list">
        <li v-for="n in notices.items" :key="n.id">
          <el-link type="primary" :underline="false" @click="openNotice(n)" data-testid="notice-link">{{ n.title }}</el-link>
          <span class="muted">　{{ n.summary }}　{{ formatTime(n.created_at) }}</span>
        </li>
      </ul>
    </el-card>

    <el-tabs v-model="tab" @tab-change="onTab">
      <el-tab-pane v-for="t in tabs" :key="t.name" :name="t.name">
        <template #label><span :data-testid="'tab-' + t.name">{{ t.label }}</span></template>
      </el-tab-pane>
    </el-tabs>

    <el-card shadow="never" class="filter-card">
      <el-form inline class="filter-form" @submit.prevent>
        <el-form-item label="类型">
          <el-select v-model="filters.kind" placeholder="全部类型" clearable style="width:130px" @change="onTab">
            <el-option v-for="k in kinds" :key="k.value" :label="k.label" :value="k.value" />
          </el-select>
        </el-form-item>
        <el-form-item label="只看已超期">
          <el-switch v-model="filters.overdue" @change="onTab" data-testid="filter-overdue" />
        </el-form-item>
      </el-form>
    </el-card>

    <el-card shadow="never">
      <el-table :data="rows" v-loading="loading" element-loading-text="正在加载…" stripe border row-key="id"
                empty-text="没有待办的咨询" data-testid="cases-table">
        <el-table-column label="编号" width="80" align="center">
          <template #default="{ row }"><span class="mono">#{{ row.id }}</span></template>
        </el-table-column>
        <el-table-column label="内容" min-width="260">
          <template #default="{ row }">
            <el-link type="primary" :underline="false" @click="open(row.id)" data-testid="case-row-title">{{ row.title }}</el-link>
            <div class="item-code">{{ row.enterprise ? row.enterprise.name : '' }}</div>
          </template>
        </el-table-column>
        <el-table-column label="类型" width="110" align="center">
          <template #default="{ row }">
            <el-tag disable-transitions size="small" effect="plain">{{ row.kind_label }}</el-tag>
            <el-tag disable-transitions v-if="row.channel !== 'miniprogram'" size="small" type="info" effect="plain" class="term-tag">{{ channelLabel(row) }}</el-tag>
          </template>
        </el-table-column>
        <el-table-column label="主题 / 部门" width="160">
          <template #default="{ row }">
            <div>{{ row.topic ? row.topic.name : '未分类' }}</div>
            <div class="item-code">{{ row.department ? row.department.name : '未分派部门' }}</div>
          </template>
        </el-table-column>
        <el-table-column label="状态" width="110" align="center">
          <template #default="{ row }">
            <el-tag disable-transitions :type="statusTag(row.status)" size="small" data-testid="case-row-status">{{ row.status_label }}</el-tag>
          </template>
        </el-table-column>
        <el-table-column label="承办人" width="110">
          <template #default="{ row }">{{ row.assignee ? row.assignee.name : '—' }}</template>
        </el-table-column>
        <el-table-column label="办理期限" width="190">
          <template #default="{ row }">
            <el-tag disable-transitions :type="timeLeft(row).type" size="small" effect="dark" data-testid="case-row-time">{{ timeLeft(row).text }}</el-tag>
            <div class="item-code">{{ formatTime(row.due_at).slice(0, 16) }}</div>
          </template>
        </el-table-column>
        <el-table-column label="操作" width="130" align="center" fixed="right">
          <template #default="{ row }">
            <el-button link type="primary" @click="open(row.id)" data-testid="case-open">办理</el-button>
            <el-button v-if="isConsultant && row.status === 'new' && !row.assignee" link type="success"
                       :loading="claiming === row.id" @click="claim(row)" data-testid="case-claim">认领</el-button>
          </template>
        </el-table-column>
      </el-table>
      <div class="pager">
        <el-pagination background layout="total, prev, pager, next" :total="total" :current-page="page"
                       :page-size="pageSize" @current-change="onPage" />
      </div>
    </el-card>

    <case-intake-dialog v-model="intakeOpen" @created="onCreated" />
  </div>`,
};
