// Create or edit a policy draft: the text of the policy, its eligibility rules with
// the live match count beside them, and "保存并提交审核" in one place.

import { api, ApiError, toastError } from '../api.js';
import { fieldLabel, POLICY_TYPES } from '../labels.js';
import { policyApi } from './policy-api.js';
import { MatchPreview, RuleEditor } from './policy-rules.js';

const WRITABLE = ['title', 'doc_number', 'department', 'policy_type', 'summary', 'body', 'application_guide',
  'effective_on', 'expires_on', 'tags', 'no_application', 'attachments', 'service_item_ids', 'rules'];

function today() {
  // Beijing date, as the server counts effective dates.
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
  return parts; // en-CA formats as YYYY-MM-DD
}

function blankPolicy() {
  return { title: '', doc_number: '', department: '', policy_type: 'subsidy', summary: '', body: '',
    application_guide: '', effective_on: today(), expires_on: null, tags: [], no_application: false,
    attachments: [], service_item_ids: [], rules: {} };
}

// The read shape carries the department as an object and many read-only fields; the
// write model forbids extra fields, so copy exactly the writable ones.
function fromRead(read) {
  const p = blankPolicy();
  for (const key of WRITABLE) {
    if (read[key] !== undefined && read[key] !== null) p[key] = read[key];
  }
  p.department = read.department ? read.department.code : '';
  p.expires_on = read.expires_on || null;
  p.tags = [...(read.tags || [])];
  p.attachments = (read.attachments || []).map((a) => ({ ...a }));
  // Read: service_items as references; write: their ids.
  p.service_item_ids = (read.service_items || []).map((s) => s.id);
  // The read model spells every absent condition as null; keep only the real ones.
  p.rules = Object.fromEntries(Object.entries(read.rules || {}).filter(([, v]) => v !== null && v !== undefined));
  return p;
}

function toWrite(form) {
  const out = {};
  for (const key of WRITABLE) out[key] = form[key];
  out.expires_on = form.expires_on || null;
  out.attachments = form.attachments.filter((a) => a.name || a.url).map((a) => ({ name: a.name.trim(), url: a.url.trim() }));
  return out;
}

const TOP_FIELDS = ['title', 'doc_number', 'department', 'policy_type', 'summary', 'body', 'application_guide',
  'effective_on', 'expires_on', 'tags', 'no_application', 'attachments', 'service_item_ids'];

export default {
  name: 'PolicyEditor',
  components: { RuleEditor, MatchPreview },
  props: {
    modelValue: { type: Boolean, default: false },
    policyId: { type: Number, default: null },
    departments: { type: Array, default: () => [] },
    industries: { type: Array, default: () => [] },
  },
  emits: ['update:modelValue', 'saved'],
  setup(props, { emit }) {
    const form = Vue.reactive(blankPolicy());
    const errors = Vue.ref({});
    const generalErrors = Vue.ref([]);
    const loading = Vue.ref(false);
    const saving = Vue.ref(false);
    const tab = Vue.ref('basic');
    const version = Vue.ref(1);
    const reviewComment = Vue.ref('');
    // The id the dialog is editing: a new draft gets one on its first save, so that
    // "保存" twice does not create two policies.
    const currentId = Vue.ref(null);
    // Options of the 关联事项 picker: the policy's own items plus the latest search.
    const itemOptions = Vue.ref([]);
    const itemsLoading = Vue.ref(false);

    const title = Vue.computed(() => (currentId.value ? `编辑政策草稿（第 ${version.value} 版）` : '新建政策'));

    async function load() {
      errors.value = {};
      generalErrors.value = [];
      tab.value = 'basic';
      Object.assign(form, blankPolicy());
      version.value = 1;
      reviewComment.value = '';
      currentId.value = props.policyId;
      itemOptions.value = [];
      if (!props.policyId) return;
      loading.value = true;
      try {
        const read = await policyApi.get(props.policyId);
        Object.assign(form, fromRead(read));
        itemOptions.value = (read.service_items || []).map((s) => ({ id: s.id, label: `${s.name}（${s.code}）` }));
        version.value = read.version || 1;
        reviewComment.value = read.review_comment || '';
      } catch (e) {
        toastError(e);
        close();
      } finally {
        loading.value = false;
      }
    }

    Vue.watch(() => [props.modelValue, props.policyId], ([open]) => {
      if (open) load();
    }, { immediate: true });

    function close() {
      emit('update:modelValue', false);
    }

    function showFieldErrors(details) {
      const errs = {};
      const general = [];
      let firstTab = null;
      for (const d of details) {
        const field = d.field || 'body';
        const head = field.split('.')[0];
        if (head === 'rules') {
          errs[field.split('.').slice(0, 2).join('.')] = d.message;
          if (field === 'rules') errs.rules = d.message;
          firstTab = firstTab || 'rules';
        } else if (TOP_FIELDS.includes(head)) {
          errs[head] = errs[head] ? errs[head] + '；' + d.message : d.message;
          firstTab = firstTab || (['body', 'application_guide', 'attachments'].includes(head) ? 'content' : 'basic');
        } else {
          general.push((field === 'body' ? '' : fieldLabel(field) + '：') + d.message);
        }
      }
      errors.value = errs;
      generalErrors.value = general;
      if (firstTab) tab.value = firstTab;
    }

    // The live preview reports rule problems as the officer types; they go next to
    // the inputs at once rather than waiting for 保存.
    function onPreviewProblems(details) {
      const kept = Object.fromEntries(Object.entries(errors.value).filter(([k]) => !k.startsWith('rules')));
      for (const d of details || []) {
        if (d.field && d.field.startsWith('rules')) kept[d.field.split('.').slice(0, 2).join('.')] = d.message;
      }
      errors.value = kept;
    }

    async function save(andSubmit) {
      errors.value = {};
      generalErrors.value = [];
      saving.value = true;
      try {
        const body = toWrite(form);
        const saved = currentId.value ? await policyApi.update(currentId.value, body) : await policyApi.create(body);
        currentId.value = saved.id;
        if (andSubmit) {
          const submitted = await policyApi.submit(saved.id);
          ElementPlus.ElMessage({ type: 'success', message: '已提交审核，请等待其他政策专员审核' });
          emit('saved', submitted || saved);
        } else {
          ElementPlus.ElMessage({ type: 'success', message: '草稿已保存' });
          emit('saved', saved);
        }
        close();
      } catch (e) {
        if (e instanceof ApiError && e.status === 422 && e.details.length) {
          showFieldErrors(e.details);
          ElementPlus.ElMessage({ type: 'error', message: e.message + '，请按提示修改', showClose: true });
        } else {
          toastError(e);
        }
      } finally {
        saving.value = false;
      }
    }

    function err(key) {
      return errors.value[key] || '';
    }

    let itemSeq = 0;
    async function searchItems(text) {
      const q = (text || '').trim();
      if (!q) return;
      const mine = ++itemSeq;
      itemsLoading.value = true;
      try {
        const res = await api('GET', '/api/v1/service-items', { query: { q, page: 1, page_size: 20 } });
        if (mine !== itemSeq) return;
        // Keep the chosen ones as options, or their tags would fall back to bare ids.
        const chosen = itemOptions.value.filter((o) => form.service_item_ids.includes(o.id));
        const found = res.items.map((i) => ({ id: i.id, label: `${i.name}（${i.code}）` }));
        itemOptions.value = [...chosen, ...found.filter((f) => !chosen.some((c) => c.id === f.id))];
      } catch (e) {
        toastError(e);
      } finally {
        if (mine === itemSeq) itemsLoading.value = false;
      }
    }

    function addAttachment() {
      form.attachments.push({ name: '', url: '' });
    }

    return { form, errors, generalErrors, loading, saving, tab, title, reviewComment, close, save, err,
      onPreviewProblems, addAttachment, searchItems, itemOptions, itemsLoading, POLICY_TYPES };
  },
  template: `
  <el-dialog :model-value="modelValue" @update:model-value="$emit('update:modelValue', $event)" :title="title"
             width="1180px" top="3vh" :close-on-click-modal="false" append-to-body class="policy-dialog">
    <div data-testid="policy-dialog" class="policy-dialog-body" v-loading="loading" element-loading-text="正在加载政策…">
      <el-alert v-if="reviewComment" type="warning" show-icon :closable="false" class="dialog-alert"
                :title="'审核意见：' + reviewComment" data-testid="policy-review-comment" />
      <el-alert v-for="(g, i) in generalErrors" :key="i" :title="g" type="error" show-icon :closable="false"
                class="dialog-alert" data-testid="policy-general-error" />
      <el-row :gutter="16">
        <el-col :span="18">
          <el-tabs v-model="tab">
            <el-tab-pane label="基本信息" name="basic">
              <el-form label-width="110px" class="policy-form">
                <el-row :gutter="12">
                  <el-col :span="24">
                    <el-form-item label="政策标题" required :error="err('title')">
                      <el-input v-model="form.title" maxlength="200" show-word-limit data-testid="policy-title"
                                placeholder="如：南山区小微企业稳岗补贴" />
                    </el-form-item>
                  </el-col>
                  <el-col :span="12">
                    <el-form-item label="文号" required :error="err('doc_number')">
                      <el-input v-model="form.doc_number" data-testid="policy-doc-number" placeholder="如 深南府办〔2026〕12号" />
                    </el-form-item>
                  </el-col>
                  <el-col :span="12">
                    <el-form-item label="发布部门" required :error="err('department')">
                      <el-select v-model="form.department" filterable placeholder="请选择部门" style="width:100%"
                                 data-testid="policy-department">
                        <el-option v-for="d in departments" :key="d.code" :label="d.name" :value="d.code" />
                      </el-select>
                    </el-form-item>
                  </el-col>
                  <el-col :span="12">
                    <el-form-item label="政策类型" required :error="err('policy_type')">
                      <el-radio-group v-model="form.policy_type" data-testid="policy-type">
                        <el-radio-button v-for="t in POLICY_TYPES" :key="t.value" :value="t.value">{{ t.label }}</el-radio-button>
                      </el-radio-group>
                    </el-form-item>
                  </el-col>
                  <el-col :span="12">
                    <el-form-item label="免申即享" :error="err('no_application')">
                      <el-switch v-model="form.no_application" active-text="是（企业确认意愿即可享受）" inactive-text="否"
                                 data-testid="policy-no-application" />
                    </el-form-item>
                  </el-col>
                  <el-col :span="12">
                    <el-form-item label="生效日期" required :error="err('effective_on')">
                      <el-date-picker v-model="form.effective_on" type="date" value-format="YYYY-MM-DD"
                                      placeholder="选择日期" style="width:100%" data-testid="policy-effective-on" />
                    </el-form-item>
                  </el-col>
                  <el-col :span="12">
                    <el-form-item label="截止日期" :error="err('expires_on')">
                      <el-date-picker v-model="form.expires_on" type="date" value-format="YYYY-MM-DD"
                                      placeholder="不填为长期有效" style="width:100%" data-testid="policy-expires-on" />
                    </el-form-item>
                  </el-col>
                  <el-col :span="24">
                    <el-form-item label="一句话摘要" required :error="err('summary')">
                      <el-input v-model="form.summary" type="textarea" :rows="2" maxlength="500" show-word-limit
                                data-testid="policy-summary" placeholder="推送消息和列表里显示，用企业听得懂的话写" />
                    </el-form-item>
                  </el-col>
                  <el-col :span="24">
                    <el-form-item label="标签" :error="err('tags')">
                      <el-select v-model="form.tags" multiple filterable allow-create default-first-option
                                 :reserve-keyword="false" placeholder="输入后回车添加，如“稳岗”“研发”" style="width:100%"
                                 data-testid="policy-tags">
                        <el-option v-for="t in form.tags" :key="t" :label="t" :value="t" />
                      </el-select>
                    </el-form-item>
                  </el-col>
                </el-row>
              </el-form>
            </el-tab-pane>

            <el-tab-pane label="政策内容" name="content">
              <el-form label-width="110px" class="policy-form">
                <el-form-item label="政策正文" :error="err('body')">
                  <el-input v-model="form.body" type="textarea" :rows="9" data-testid="policy-body" />
                </el-form-item>
                <el-form-item label="申兑指南" :error="err('application_guide')">
                  <el-input v-model="form.application_guide" type="textarea" :rows="5" data-testid="policy-guide"
                            placeholder="去哪里申请、要交什么材料、多久兑现" />
                </el-form-item>
                <el-form-item label="关联事项" :error="err('service_item_ids')">
                  <el-select v-model="form.service_item_ids" multiple filterable remote :remote-method="searchItems"
                             :loading="itemsLoading" placeholder="输入关键词搜索办事事项，如“社保”“稳岗”" style="width:100%"
                             data-testid="policy-service-items">
                    <el-option v-for="o in itemOptions" :key="o.id" :label="o.label" :value="o.id" />
                  </el-select>
                </el-form-item>
                <el-form-item label="附件" :error="err('attachments')">
                  <div class="attach-list">
                    <div v-for="(a, i) in form.attachments" :key="i" class="attach-row">
                      <el-input v-model="a.name" placeholder="附件名称" style="width:220px" />
                      <el-input v-model="a.url" placeholder="https://…" style="flex:1" />
                      <el-button link type="danger" @click="form.attachments.splice(i, 1)">删除</el-button>
                    </div>
                    <el-button size="small" @click="addAttachment">添加附件链接</el-button>
                  </div>
                </el-form-item>
              </el-form>
            </el-tab-pane>

            <el-tab-pane name="rules">
              <template #label><span data-testid="policy-tab-rules">适用条件</span></template>
              <rule-editor v-model="form.rules" :industries="industries" :errors="errors" />
            </el-tab-pane>
          </el-tabs>
        </el-col>
        <el-col :span="6">
          <match-preview :rules="form.rules" @problems="onPreviewProblems" />
        </el-col>
      </el-row>
    </div>
    <template #footer>
      <el-button @click="close">取消</el-button>
      <el-button :loading="saving" @click="save(false)" data-testid="policy-save">保存草稿</el-button>
      <el-button type="primary" :loading="saving" @click="save(true)" data-testid="policy-save-submit">保存并提交审核</el-button>
    </template>
  </el-dialog>`,
};
