// One policy version in a drawer: its text, its rules, who moved it through review,
// its other versions, the push figures and (免申即享) the enterprises that consented.
// The workflow actions live here too, shared with the list's row buttons.

import { session, toastError } from '../api.js';
import { can, formatTime, POLICY_STATUS, POLICY_TYPE_LABELS } from '../labels.js';
import { policyApi } from './policy-api.js';
import PolicyCampaign from './policy-campaign.js';
import { describeRules } from './policy-rules.js';

// services/policies/workflow.py ACTION_LABELS, for the 流转记录 timeline.
const ACTION_LABELS = {
  create: '起草', revise: '创建新版本', edit: '修改', submit: '提交审核', approve: '审核通过并发布',
  reject: '退回修改', withdraw: '撤回', expire: '到期失效', supersede: '被新版本替代', seed: '演示数据发布',
};

export function statusOf(policy) {
  return POLICY_STATUS[policy.status] || { label: policy.status_label || policy.status, tag: 'info' };
}

/**
 * The review workflow as confirmations around the API calls. Every refusal (the
 * author approving their own policy, a stale status) is the server's to decide and
 * its message is what the officer sees.
 */
export function usePolicyActions(onChanged) {
  async function run(action, fn, success) {
    try {
      const result = await fn();
      if (success) ElementPlus.ElMessage({ type: 'success', message: success });
      onChanged(result, action);
      return result;
    } catch (e) {
      toastError(e);
      return null;
    }
  }

  async function ask(message, title, options = {}) {
    try {
      const res = await ElementPlus.ElMessageBox({
        title, message, type: 'warning', showCancelButton: true, cancelButtonText: '取消',
        confirmButtonText: options.confirm || '确定', closeOnClickModal: false, ...options.box,
      });
      return res && res.value !== undefined ? res.value : true;
    } catch (e) {
      return null; // cancelled
    }
  }

  async function askReason(message, title, confirm) {
    try {
      const { value } = await ElementPlus.ElMessageBox.prompt(message, title, {
        confirmButtonText: confirm, cancelButtonText: '取消', inputType: 'textarea',
        inputPlaceholder: '请填写原因（必填）', closeOnClickModal: false,
        // The API wants at least two characters; say so before the round trip.
        inputValidator: (v) => (v && v.trim().length >= 2 ? true : '请填写原因（至少 2 个字）'),
        customClass: 'reason-box',
      });
      return value.trim();
    } catch (e) {
      return null;
    }
  }

  return {
    async submit(p) {
      if (await ask(`提交后由其他政策专员审核，审核期间不能修改。确定提交“${p.title}”吗？`, '提交审核', { confirm: '提交审核' }) === null) return null;
      return run('submit', () => policyApi.submit(p.id), '已提交审核');
    },
    async approve(p) {
      const reach = p.match_count !== null && p.match_count !== undefined ? `，并向约 ${p.match_count} 家符合条件的企业推送` : '';
      if (await ask(`审核通过后政策将立即发布${reach}。确定通过“${p.title}”吗？`, '审核通过', { confirm: '通过并发布' }) === null) return null;
      return run('approve', () => policyApi.approve(p.id), '审核通过，政策已发布');
    },
    async reject(p) {
      const reason = await askReason(`退回“${p.title}”给起草人修改。`, '退回修改', '退回');
      if (reason === null) return null;
      return run('reject', () => policyApi.reject(p.id, reason), '已退回起草人修改');
    },
    async withdraw(p) {
      const reason = await askReason(`撤回后企业将看不到“${p.title}”，已推送的消息不会收回。`, '撤回政策', '确定撤回');
      if (reason === null) return null;
      return run('withdraw', () => policyApi.withdraw(p.id, reason), '政策已撤回');
    },
    async newVersion(p) {
      if (await ask(`将以第 ${p.version || 1} 版为底稿生成新版本草稿；新版本审核发布后替代当前版本，当前版本在此之前继续有效。`, '生成新版本', { confirm: '生成草稿' }) === null) return null;
      return run('newVersion', () => policyApi.newVersion(p.id), '已生成新版本草稿');
    },
  };
}

export default {
  name: 'PolicyDetail',
  components: { PolicyCampaign },
  props: {
    modelValue: { type: Boolean, default: false },
    policyId: { type: Number, default: null },
    industries: { type: Array, default: () => [] },
    initialTab: { type: String, default: 'info' },
  },
  emits: ['update:modelValue', 'changed', 'edit', 'open'],
  setup(props, { emit }) {
    const policy = Vue.ref(null);
    const loading = Vue.ref(false);
    const tab = Vue.ref('info');
    const consents = Vue.reactive({ rows: [], total: 0, page: 1, loading: false });

    const canEdit = Vue.computed(() => can(session.user, 'policies.edit'));
    const canCampaign = Vue.computed(() => can(session.user, 'policies.campaign'));
    const canConsents = Vue.computed(() => can(session.user, 'policies.consents'));
    const versions = Vue.computed(() => (policy.value && policy.value.versions) || []);
    const status = Vue.computed(() => (policy.value ? statusOf(policy.value) : null));
    const ruleLines = Vue.computed(() => {
      const p = policy.value;
      if (!p) return [];
      return p.conditions && p.conditions.length ? p.conditions : describeRules(p.rules, props.industries);
    });
    // A campaign exists once a version has been approved (withdrawn and superseded
    // versions keep theirs). Demo-seeded policies were published without one; their
    // tab shows the server's explanation rather than vanishing without a word.
    const hasCampaign = Vue.computed(() => canCampaign.value && !!policy.value
      && (!!policy.value.campaign_id || ['published', 'withdrawn', 'superseded', 'expired'].includes(policy.value.status)));

    const actions = usePolicyActions((result, action) => {
      emit('changed', result);
      if (action === 'newVersion') {
        emit('open', result.id); // show the new draft
      } else {
        // Approval is publication: go to the push it has just started.
        if (action === 'approve' && canCampaign.value) tab.value = 'campaign';
        load();
      }
    });

    async function load() {
      if (!props.policyId) return;
      loading.value = true;
      try {
        policy.value = await policyApi.get(props.policyId);
        if (tab.value === 'consents') loadConsents();
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    }

    async function loadConsents() {
      consents.loading = true;
      try {
        const res = await policyApi.consents(props.policyId, { page: consents.page, page_size: 20 });
        consents.rows = res.items;
        consents.total = res.total;
      } catch (e) {
        toastError(e);
      } finally {
        consents.loading = false;
      }
    }

    Vue.watch(() => [props.modelValue, props.policyId], ([open]) => {
      if (open) {
        tab.value = props.initialTab;
        policy.value = null;
        consents.page = 1;
        load();
      }
    }, { immediate: true });

    Vue.watch(tab, (t) => {
      if (t === 'consents') loadConsents();
    });

    function onConsentPage(p) {
      consents.page = p;
      loadConsents();
    }

    function close() {
      emit('update:modelValue', false);
    }

    return { policy, loading, tab, versions, consents, canEdit, canConsents, status, ruleLines, hasCampaign, actions, load,
      onConsentPage, close, formatTime, statusOf, POLICY_TYPE_LABELS, ACTION_LABELS };
  },
  template: `
  <el-drawer :model-value="modelValue" @update:model-value="$emit('update:modelValue', $event)" size="62%"
             append-to-body :with-header="false" class="policy-drawer">
    <div class="policy-detail" data-testid="policy-detail" v-loading="loading">
      <template v-if="policy">
        <div class="detail-head">
          <div>
            <h3 class="detail-title" data-testid="detail-title">{{ policy.title }}</h3>
            <div class="detail-meta">
              <el-tag :type="status.tag" data-testid="detail-status">{{ status.label }}</el-tag>
              <el-tag effect="plain">第 {{ policy.version }} 版</el-tag>
              <el-tag effect="plain" type="info">{{ policy.type_label || POLICY_TYPE_LABELS[policy.policy_type] }}</el-tag>
              <el-tag v-if="policy.no_application" type="success" effect="plain">免申即享</el-tag>
              <span class="muted">{{ policy.doc_number }}</span>
            </div>
          </div>
          <div class="detail-actions" v-if="canEdit">
            <template v-if="policy.status === 'draft'">
              <el-button @click="$emit('edit', policy.id)" data-testid="detail-edit">编辑</el-button>
              <el-button type="primary" @click="actions.submit(policy)" data-testid="detail-submit">提交审核</el-button>
            </template>
            <template v-if="policy.status === 'in_review'">
              <el-button @click="actions.reject(policy)" data-testid="detail-reject">退回修改</el-button>
              <el-button type="primary" @click="actions.approve(policy)" data-testid="detail-approve">审核通过</el-button>
            </template>
            <template v-if="policy.status === 'published'">
              <el-button @click="actions.newVersion(policy)" data-testid="detail-new-version">生成新版本</el-button>
              <el-button type="danger" plain @click="actions.withdraw(policy)" data-testid="detail-withdraw">撤回</el-button>
            </template>
          </div>
          <el-button class="detail-close" circle @click="close"><el-icon><Close /></el-icon></el-button>
        </div>
        <el-alert v-if="policy.status === 'draft' && policy.review_comment" type="warning" show-icon :closable="false"
                  class="dialog-alert" :title="'审核意见：' + policy.review_comment" />
        <el-alert v-if="policy.status === 'withdrawn' && policy.withdraw_reason" type="error" show-icon :closable="false"
                  class="dialog-alert" :title="'撤回原因：' + policy.withdraw_reason" />

        <el-tabs v-model="tab">
          <el-tab-pane label="政策信息" name="info">
            <el-descriptions :column="2" border size="default" data-testid="detail-info">
              <el-descriptions-item label="发布部门">{{ policy.department.name }}</el-descriptions-item>
              <el-descriptions-item label="文号">{{ policy.doc_number }}</el-descriptions-item>
              <el-descriptions-item label="生效日期">{{ policy.effective_on }}</el-descriptions-item>
              <el-descriptions-item label="截止日期">{{ policy.expires_on || '长期有效' }}</el-descriptions-item>
              <el-descriptions-item label="符合条件企业">{{ policy.match_count === null || policy.match_count === undefined ? '—' : '约 ' + policy.match_count + ' 家（保存时）' }}</el-descriptions-item>
              <el-descriptions-item label="发布时间">{{ formatTime(policy.published_at) || '未发布' }}</el-descriptions-item>
              <el-descriptions-item v-if="policy.created_by !== undefined" label="起草 / 提交">{{ policy.created_by || '—' }} / {{ policy.submitted_by || '—' }}</el-descriptions-item>
              <el-descriptions-item v-if="policy.created_by !== undefined" label="审核人">{{ policy.reviewed_by || '—' }}</el-descriptions-item>
              <el-descriptions-item label="标签" :span="2">
                <el-tag v-for="t in policy.tags" :key="t" size="small" effect="plain" class="term-tag">{{ t }}</el-tag>
              </el-descriptions-item>
              <el-descriptions-item label="摘要" :span="2">{{ policy.summary }}</el-descriptions-item>
            </el-descriptions>
            <h4 class="detail-sub">政策正文</h4>
            <div class="detail-text">{{ policy.body || '（未填写）' }}</div>
            <h4 class="detail-sub">申兑指南</h4>
            <div class="detail-text">{{ policy.application_guide || '（未填写）' }}</div>
            <template v-if="policy.service_items && policy.service_items.length">
              <h4 class="detail-sub">关联办事事项</h4>
              <div v-for="s in policy.service_items" :key="s.id">{{ s.name }} <span class="muted">{{ s.code }}</span></div>
            </template>
            <template v-if="policy.attachments && policy.attachments.length">
              <h4 class="detail-sub">附件</h4>
              <div v-for="(a, i) in policy.attachments" :key="i">
                <el-link type="primary" :href="a.url" target="_blank" rel="noopener">{{ a.name }}</el-link>
              </div>
            </template>
          </el-tab-pane>

          <el-tab-pane label="适用条件" name="rules">
            <ul class="rule-lines" data-testid="detail-rules">
              <li v-for="(l, i) in ruleLines" :key="i">{{ l }}</li>
            </ul>
          </el-tab-pane>

          <el-tab-pane label="审核与版本" name="history">
            <h4 class="detail-sub">流转记录</h4>
            <el-timeline v-if="policy.transitions && policy.transitions.length" data-testid="detail-transitions">
              <el-timeline-item v-for="(t, i) in policy.transitions" :key="i" :timestamp="formatTime(t.at)" placement="top">
                <b>{{ ACTION_LABELS[t.action] || t.action }}</b>
                <span class="muted">　{{ t.actor_name || '系统' }}</span>
                <div v-if="t.comment" class="muted">意见：{{ t.comment }}</div>
              </el-timeline-item>
            </el-timeline>
            <el-empty v-else description="暂无流转记录" :image-size="60" />
            <h4 class="detail-sub">版本历史</h4>
            <el-table :data="versions" border size="small" data-testid="detail-versions" empty-text="暂无其他版本">
              <el-table-column label="版本" width="80" align="center">
                <template #default="{ row }">第 {{ row.version }} 版</template>
              </el-table-column>
              <el-table-column label="状态" min-width="160">
                <template #default="{ row }"><el-tag size="small" :type="statusOf(row).tag">{{ statusOf(row).label }}</el-tag></template>
              </el-table-column>
              <el-table-column label="" width="80" align="center">
                <template #default="{ row }">
                  <el-button v-if="row.id !== policy.id" link type="primary" @click="$emit('open', row.id)">查看</el-button>
                  <span v-else class="muted">当前</span>
                </template>
              </el-table-column>
            </el-table>
          </el-tab-pane>

          <el-tab-pane v-if="hasCampaign" name="campaign">
            <template #label><span data-testid="detail-tab-campaign">推送效果</span></template>
            <!-- Mounted only while shown: the drawer keeps its content when closed, and a
                 hidden chart must not go on polling the server every few seconds. -->
            <policy-campaign v-if="modelValue && tab === 'campaign'" :policy-id="policy.id" />
          </el-tab-pane>

          <el-tab-pane v-if="policy.no_application && canConsents" name="consents">
            <template #label><span data-testid="detail-tab-consents">意愿确认</span></template>
            <el-table :data="consents.rows" v-loading="consents.loading" border size="small" data-testid="detail-consents"
                      empty-text="尚无企业确认享受">
              <el-table-column label="企业名称" min-width="220">
                <template #default="{ row }">{{ row.enterprise_name }}</template>
              </el-table-column>
              <el-table-column label="统一社会信用代码" width="200">
                <template #default="{ row }"><span class="mono">{{ row.credit_code }}</span></template>
              </el-table-column>
              <el-table-column label="确认人" width="130">
                <template #default="{ row }">{{ row.user_name }}</template>
              </el-table-column>
              <el-table-column label="确认版本" width="90" align="center">
                <template #default="{ row }">第 {{ row.version }} 版</template>
              </el-table-column>
              <el-table-column label="确认时间" width="170">
                <template #default="{ row }">{{ formatTime(row.consented_at) }}</template>
              </el-table-column>
            </el-table>
            <div class="pager">
              <el-pagination background layout="total, prev, pager, next" :total="consents.total" :page-size="20"
                             :current-page="consents.page" @current-change="onConsentPage" />
            </div>
          </el-tab-pane>
        </el-tabs>
      </template>
    </div>
  </el-drawer>`,
};
