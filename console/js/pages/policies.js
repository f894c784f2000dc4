// 惠企政策: policy officers draft, review, publish and follow up policies here;
// consultants and supervisors read them (to answer enterprises' questions).

import { api, session, toastError, usePager } from '../api.js';
import { can, formatTime, loadPolicyOptions, POLICY_STATUSES, POLICY_TYPE_LABELS, POLICY_TYPES } from '../labels.js';
import { policyApi } from './policy-api.js';
import PolicyDetail, { statusOf, usePolicyActions } from './policy-detail.js';
import PolicyEditor from './policy-editor.js';

export default {
  name: 'PoliciesPage',
  components: { PolicyEditor, PolicyDetail },
  setup() {
    const canEdit = Vue.computed(() => can(session.user, 'policies.edit'));
    const canCampaign = Vue.computed(() => can(session.user, 'policies.campaign'));
    // 全部 or the review queue (待审核); the queue is only an officer's work.
    const view = Vue.ref('all');
    // `type` is the API's name for the policy type filter.
    const query = Vue.reactive({ q: '', status: '', type: '' });
    const { page, pageSize, onPage, onSize, first } = usePager(() => load(), 20);
    const rows = Vue.ref([]);
    const total = Vue.ref(0);
    const reviewCount = Vue.ref(0);
    const loading = Vue.ref(false);
    const departments = Vue.ref([]);
    const industries = Vue.ref([]);
    const editor = Vue.reactive({ open: false, id: null });
    const detail = Vue.reactive({ open: false, id: null, tab: 'info' });
    let applied = { q: '', status: '', type: '' };

    async function loadReference() {
      try {
        // The policy code tables were asked for at start-up; this waits for (or retries) that request.
        const [deps, inds] = await Promise.all([
          api('GET', '/api/v1/departments'),
          api('GET', '/api/v1/reference/industries'),
          loadPolicyOptions(),
        ]);
        departments.value = deps.items;
        industries.value = inds.items;
      } catch (e) {
        toastError(e);
      }
    }

    async function load() {
      loading.value = true;
      try {
        const status = view.value === 'review' ? 'in_review' : applied.status;
        const res = await policyApi.list({ ...applied, status, page: page.value, page_size: pageSize.value });
        rows.value = res.items;
        total.value = res.total;
        if (view.value === 'review') reviewCount.value = res.total;
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
      if (canEdit.value && view.value !== 'review') loadReviewCount();
    }

    async function loadReviewCount() {
      try {
        reviewCount.value = (await policyApi.list({ status: 'in_review', page: 1, page_size: 1 })).total;
      } catch (e) {
        /* the badge is a convenience; the list itself already reported any error */
      }
    }

    function search() {
      applied = { q: query.q.trim(), status: query.status || '', type: query.type || '' };
      first();
    }

    function resetFilters() {
      query.q = '';
      query.status = '';
      query.type = '';
      search();
    }

    const onView = first;

    function openEditor(id) {
      editor.id = id || null;
      editor.open = true;
    }

    function openDetail(id, tab) {
      detail.id = id;
      detail.tab = tab || 'info';
      detail.open = true;
    }

    function onSaved() {
      load();
      if (detail.open) {
        // Re-open to show the saved draft's new state.
        const id = detail.id;
        detail.id = null;
        Vue.nextTick(() => { detail.id = id; });
      }
    }

    function onEditFromDetail(id) {
      detail.open = false;
      openEditor(id);
    }

    const actions = usePolicyActions((result, action) => {
      load();
      // A new version is a new draft: open it for editing straight away.
      if (action === 'newVersion') openEditor(result.id);
      // Approval is publication: show its result, the push that has just started.
      if (action === 'approve') openDetail(result.id, 'campaign');
    });

    Vue.onMounted(() => {
      loadReference();
      search();
    });

    return { canEdit, canCampaign, view, query, page, pageSize, rows, total, reviewCount, loading, departments, industries,
      editor, detail, actions, search, resetFilters, onView, onPage, onSize, openEditor, openDetail, onSaved,
      onEditFromDetail, load, formatTime, statusOf, POLICY_STATUSES, POLICY_TYPES, POLICY_TYPE_LABELS };
  },
  template: `
  <div data-testid="policies-page">
    <div class="page-head">
      <div>
        <h2 class="page-title">惠企政策</h2>
        <p class="page-sub">{{ canEdit ? '起草政策、设定适用条件、交叉审核后发布，并跟踪向符合条件企业的精准推送' : '查阅已发布的惠企政策及其适用条件（只读）' }}</p>
      </div>
      <div class="page-actions">
        <el-button v-if="canEdit" type="primary" @click="openEditor(null)" data-testid="policy-create">新建政策</el-button>
        <el-button @click="load" :loading="loading">刷新</el-button>
      </div>
    </div>

    <el-tabs v-if="canEdit" v-model="view" @tab-change="onView" class="policy-views">
      <el-tab-pane label="全部政策" name="all" />
      <el-tab-pane name="review">
        <template #label>
          <span data-testid="policy-view-review">待审核
            <el-badge v-if="reviewCount" :value="reviewCount" class="review-badge" data-testid="review-count" />
          </span>
        </template>
      </el-tab-pane>
    </el-tabs>

    <el-card v-if="view === 'all'" shadow="never" class="filter-card">
      <el-form inline @submit.prevent="search" class="filter-form">
        <el-form-item label="搜索">
          <el-input v-model="query.q" placeholder="政策标题或文号" clearable style="width:260px"
                    data-testid="policy-search" @keyup.enter="search" @clear="search" />
        </el-form-item>
        <el-form-item label="状态">
          <el-select v-model="query.status" placeholder="全部状态" clearable style="width:150px"
                     data-testid="policy-filter-status" @change="search">
            <el-option v-for="s in POLICY_STATUSES" :key="s.value" :label="s.label" :value="s.value" />
          </el-select>
        </el-form-item>
        <el-form-item label="类型">
          <el-select v-model="query.type" placeholder="全部类型" clearable style="width:120px"
                     data-testid="policy-filter-type" @change="search">
            <el-option v-for="t in POLICY_TYPES" :key="t.value" :label="t.label" :value="t.value" />
          </el-select>
        </el-form-item>
        <el-form-item>
          <el-button type="primary" native-type="submit">查询</el-button>
          <el-button @click="resetFilters">重置</el-button>
        </el-form-item>
      </el-form>
    </el-card>
    <el-alert v-else type="info" :closable="false" show-icon class="filter-card"
              title="审核其他政策专员提交的政策：通过即发布并推送；起草人不能审核自己的政策。" />

    <el-card shadow="never">
      <el-table :data="rows" v-loading="loading" element-loading-text="正在加载…" stripe border row-key="id"
                :empty-text="view === 'review' ? '没有待审核的政策' : '没有找到符合条件的政策'" data-testid="policies-table">
        <el-table-column label="政策标题" min-width="260">
          <template #default="{ row }">
            <el-link type="primary" :underline="false" @click="openDetail(row.id)" data-testid="policy-row-title">{{ row.title }}</el-link>
            <div class="item-code">{{ row.doc_number }}<span v-if="row.version > 1">　第 {{ row.version }} 版</span></div>
          </template>
        </el-table-column>
        <el-table-column label="类型" width="80" align="center">
          <template #default="{ row }">
            <el-tag size="small" effect="plain">{{ row.type_label || POLICY_TYPE_LABELS[row.policy_type] }}</el-tag>
          </template>
        </el-table-column>
        <el-table-column label="发布部门" width="140">
          <template #default="{ row }">{{ row.department.name }}</template>
        </el-table-column>
        <el-table-column label="状态" width="130">
          <template #default="{ row }">
            <el-tag :type="statusOf(row).tag" size="small" data-testid="policy-row-status">{{ statusOf(row).label }}</el-tag>
            <el-tag v-if="row.no_application" type="success" size="small" effect="plain" class="term-tag">免申即享</el-tag>
          </template>
        </el-table-column>
        <el-table-column label="符合企业" width="96" align="center">
          <template #default="{ row }">
            <span data-testid="policy-row-match-count" title="保存或发布时符合适用条件的企业数">{{ row.match_count == null ? '—' : row.match_count + ' 家' }}</span>
          </template>
        </el-table-column>
        <el-table-column label="推送" width="96" align="center">
          <template #default="{ row }">
            <span data-testid="policy-row-campaign">
              <el-link v-if="row.campaign_id && canCampaign" type="success" :underline="false"
                       @click="openDetail(row.id, 'campaign')">已推送</el-link>
              <el-tag v-else-if="row.campaign_id" type="success" size="small" effect="plain">已推送</el-tag>
              <span v-else class="muted">{{ row.status === 'published' ? '未推送' : '—' }}</span>
            </span>
          </template>
        </el-table-column>
        <el-table-column label="施行 / 截止" width="200">
          <template #default="{ row }">{{ row.effective_on }} 至 {{ row.expires_on || '长期' }}</template>
        </el-table-column>
        <el-table-column label="发布时间" width="170">
          <template #default="{ row }">{{ formatTime(row.published_at) || '—' }}</template>
        </el-table-column>
        <el-table-column label="操作" :width="canEdit ? 250 : 80" align="center" fixed="right">
          <template #default="{ row }">
            <el-button link type="primary" @click="openDetail(row.id)" data-testid="policy-view">查看</el-button>
            <template v-if="canEdit">
              <template v-if="row.status === 'draft'">
                <el-button link type="primary" @click="openEditor(row.id)" data-testid="policy-edit">编辑</el-button>
                <el-button link type="primary" @click="actions.submit(row)" data-testid="policy-submit">提交审核</el-button>
              </template>
              <template v-if="row.status === 'in_review'">
                <el-button link type="success" @click="actions.approve(row)" data-testid="policy-approve">通过</el-button>
                <el-button link type="warning" @click="actions.reject(row)" data-testid="policy-reject">退回</el-button>
              </template>
              <template v-if="row.status === 'published'">
                <el-button link type="primary" @click="openDetail(row.id, 'campaign')" data-testid="policy-campaign">推送效果</el-button>
                <el-button link @click="actions.newVersion(row)" data-testid="policy-new-version">新版本</el-button>
                <el-button link type="danger" @click="actions.withdraw(row)" data-testid="policy-withdraw">撤回</el-button>
              </template>
            </template>
          </template>
        </el-table-column>
      </el-table>
      <div class="pager">
        <el-pagination background layout="total, sizes, prev, pager, next" :total="total" :current-page="page"
                       :page-size="pageSize" :page-sizes="[10, 20, 50]" @current-change="onPage" @size-change="onSize"
                       data-testid="policies-pager" />
      </div>
    </el-card>

    <policy-editor v-model="editor.open" :policy-id="editor.id" :departments="departments" :industries="industries"
                   @saved="onSaved" />
    <policy-detail v-model="detail.open" :policy-id="detail.id" :industries="industries" :initial-tab="detail.tab"
                   @changed="load()" @edit="onEditFromDetail" @open="(id) => openDetail(id)" />
  </div>`,
};
