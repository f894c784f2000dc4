import { api, ApiError, toastError } from '../api.js';
import { fieldLabel, ITEM_TYPES, MATERIAL_FORMS, STAGES } from '../labels.js';

function blankItem() {
  return {
    code: '', name: '', item_type: '行政许可', department: '', implementing_body: '', legal_basis: '',
    summary: '', keywords: [], materials: [], steps: [], statutory_days: 0, committed_days: 0,
    fees: '不收费', online_available: false, online_url: '', offline_location: '', stage: 'start', faq: [],
  };
}

// The read shape (ServiceItemRead) differs from the write shape (ServiceItemWrite):
// department is an object there and a code here, and the write model forbids extra
// fields, so copy exactly the writable ones.
function fromRead(read) {
  const item = blankItem();
  for (const key of Object.keys(item)) {
    if (read[key] !== undefined && read[key] !== null) item[key] = read[key];
  }
  item.department = read.department ? read.department.code : '';
  item.online_url = read.online_url || '';
  item.materials = (read.materials || []).map((m) => ({ ...m }));
  item.steps = (read.steps || []).map((s) => ({ ...s }));
  item.faq = (read.faq || []).map((f) => ({ ...f }));
  item.keywords = [...(read.keywords || [])];
  return item;
}

function toWrite(form) {
  return {
    ...form,
    // The API's pattern requires a real URL, so "no URL" must be null, not "".
    online_url: form.online_url && form.online_url.trim() ? form.online_url.trim() : null,
    materials: form.materials.map((m) => ({ name: m.name, required: !!m.required, form: m.form,
                                            count: Number(m.count) || 0, notes: m.notes || '' })),
    steps: form.steps.map((s) => ({ name: s.name, description: s.description || '' })),
    faq: form.faq.map((f) => ({ q: f.q, a: f.a })),
  };
}

// Which tab holds a field, so the dialog can open the tab with the first error.
function tabOf(field) {
  const head = String(field).split('.')[0];
  if (head === 'materials') return 'materials';
  if (head === 'steps') return 'steps';
  if (head === 'faq') return 'faq';
  return 'basic';
}

const BASIC_FIELDS = ['code', 'name', 'item_type', 'department', 'implementing_body', 'legal_basis', 'summary',
  'keywords', 'statutory_days', 'committed_days', 'fees', 'online_available', 'online_url', 'offline_location',
  'stage', 'materials', 'steps', 'faq'];

export default {
  name: 'ItemEditor',
  props: {
    modelValue: { type: Boolean, default: false },
    itemId: { type: Number, default: null },
    readonly: { type: Boolean, default: false },
    departments: { type: Array, default: () => [] },
  },
  emits: ['update:modelValue', 'saved'],
  setup(props, { emit }) {
    const form = Vue.reactive(blankItem());
    const errors = Vue.reactive({});
    const generalErrors = Vue.ref([]);
    const loading = Vue.ref(false);
    const saving = Vue.ref(false);
    const tab = Vue.ref('basic');
    const updatedAt = Vue.ref('');

    const title = Vue.computed(() => {
      if (props.readonly) return '事项详情';
      return props.itemId ? '编辑事项' : '新增事项';
    });

    function clearErrors() {
      for (const k of Object.keys(errors)) delete errors[k];
      generalErrors.value = [];
    }

    async function load() {
      clearErrors();
      tab.value = 'basic';
      Object.assign(form, blankItem());
      updatedAt.value = '';
      if (!props.itemId) return;
      loading.value = true;
      try {
        const read = await api('GET', `/api/v1/service-items/${props.itemId}`);
        Object.assign(form, fromRead(read));
        updatedAt.value = read.updated_at;
      } catch (e) {
        toastError(e);
        close();
      } finally {
        loading.value = false;
      }
    }

    Vue.watch(() => [props.modelValue, props.itemId], ([open]) => {
      if (open) load();
    }, { immediate: true });

    function close() {
      emit('update:modelValue', false);
    }

    function showFieldErrors(details) {
      clearErrors();
      const general = [];
      let firstTab = null;
      for (const d of details) {
        const field = d.field || 'body';
        const head = field.split('.')[0];
        // Per-field messages go next to their inputs; model-level ones (field
        // "body") and unknown fields are listed at the top of the dialog.
        if (BASIC_FIELDS.includes(head)) {
          errors[field] = errors[field] ? errors[field] + '；' + d.message : d.message;
          if (!firstTab) firstTab = tabOf(field);
          if (head !== field && !errors[head]) errors[head] = '请检查下方标红的内容';
        } else {
          general.push((field === 'body' ? '' : fieldLabel(field) + '：') + d.message);
        }
      }
      generalErrors.value = general;
      if (firstTab) tab.value = firstTab;
    }

    async function save() {
      clearErrors();
      saving.value = true;
      try {
        const payload = toWrite(form);
        const saved = props.itemId
          ? await api('PUT', `/api/v1/service-items/${props.itemId}`, { body: payload })
          : await api('POST', '/api/v1/service-items', { body: payload });
        ElementPlus.ElMessage({ type: 'success', message: props.itemId ? '事项已保存' : '事项已新增' });
        emit('saved', saved);
        close();
      } catch (e) {
        if (e instanceof ApiError && e.status === 422 && e.details.length) {
          showFieldErrors(e.details);
          ElementPlus.ElMessage({ type: 'error', message: e.message + '，请按提示修改', showClose: true });
        } else if (e instanceof ApiError && e.status === 409) {
          errors.code = e.message;
          tab.value = 'basic';
          toastError(e);
        } else {
          toastError(e);
        }
      } finally {
        saving.value = false;
      }
    }

    function err(path) {
      return errors[path] || '';
    }

    function addMaterial() {
      form.materials.push({ name: '', required: true, form: 'original', count: 1, notes: '' });
    }
    function addStep() {
      form.steps.push({ name: '', description: '' });
    }
    function addFaq() {
      form.faq.push({ q: '', a: '' });
    }
    function removeAt(list, index) {
      list.splice(index, 1);
    }
    function move(list, index, delta) {
      const to = index + delta;
      if (to < 0 || to >= list.length) return;
      const [row] = list.splice(index, 1);
      list.splice(to, 0, row);
    }

    return { form, errors, generalErrors, loading, saving, tab, title, updatedAt, close, save, err,
      addMaterial, addStep, addFaq, removeAt, move, ITEM_TYPES, MATERIAL_FORMS, STAGES };
  },
  template: `
  <el-dialog :model-value="modelValue" @update:model-value="$emit('update:modelValue', $event)" :title="title"
             width="960px" top="4vh" :close-on-click-modal="false" append-to-body class="item-dialog">
    <div data-testid="item-dialog" class="item-dialog-body" v-loading="loading" element-loading-text="正在加载事项…">
      <el-alert v-for="(g, i) in generalErrors" :key="i" :title="g" type="error" show-icon :closable="false"
                class="dialog-alert" data-testid="item-general-error" />
      <el-form :model="form" label-width="120px" :disabled="readonly" class="item-form">
        <el-tabs v-model="tab">
          <el-tab-pane label="基本信息" name="basic">
            <el-row :gutter="12">
              <el-col :span="12">
                <el-form-item label="事项编码" required :error="err('code')">
                  <el-input v-model="form.code" data-testid="field-code" placeholder="如 SCJG-XK-0001" />
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="事项名称" required :error="err('name')">
                  <el-input v-model="form.name" data-testid="field-name" />
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="事项类型" required :error="err('item_type')">
                  <el-select v-model="form.item_type" data-testid="field-item_type" style="width:100%">
                    <el-option v-for="t in ITEM_TYPES" :key="t" :label="t" :value="t" />
                  </el-select>
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="主管部门" required :error="err('department')">
                  <el-select v-model="form.department" data-testid="field-department" filterable
                             placeholder="请选择部门" style="width:100%">
                    <el-option v-for="d in departments" :key="d.code" :label="d.name + '（' + d.code + '）'" :value="d.code" />
                  </el-select>
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="生命周期" required :error="err('stage')">
                  <el-radio-group v-model="form.stage" data-testid="field-stage">
                    <el-radio-button v-for="s in STAGES" :key="s.value" :value="s.value">{{ s.label }}</el-radio-button>
                  </el-radio-group>
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="实施主体" :error="err('implementing_body')">
                  <el-input v-model="form.implementing_body" data-testid="field-implementing_body" />
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="法定时限" required :error="err('statutory_days')">
                  <el-input-number v-model="form.statutory_days" :min="0" :max="365" data-testid="field-statutory_days" />
                  <span class="unit">个工作日</span>
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="承诺时限" required :error="err('committed_days')">
                  <el-input-number v-model="form.committed_days" :min="0" :max="365" data-testid="field-committed_days" />
                  <span class="unit">个工作日（0 为即办）</span>
                </el-form-item>
              </el-col>
              <el-col :span="24">
                <el-form-item label="一句话说明" :error="err('summary')">
                  <el-input v-model="form.summary" data-testid="field-summary" maxlength="256" show-word-limit
                            placeholder="用群众听得懂的话说明这件事是办什么的" />
                </el-form-item>
              </el-col>
              <el-col :span="24">
                <el-form-item label="群众常用说法" :error="err('keywords')">
                  <el-select v-model="form.keywords" multiple filterable allow-create default-first-option
                             :reserve-keyword="false" placeholder="输入后回车添加，如“办执照”" style="width:100%"
                             data-testid="field-keywords">
                    <el-option v-for="k in form.keywords" :key="k" :label="k" :value="k" />
                  </el-select>
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="收费标准" :error="err('fees')">
                  <el-input v-model="form.fees" data-testid="field-fees" />
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="可网办" :error="err('online_available')">
                  <el-switch v-model="form.online_available" active-text="可网办" inactive-text="仅线下" data-testid="field-online_available" />
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="网办地址" :error="err('online_url')">
                  <el-input v-model="form.online_url" data-testid="field-online_url" placeholder="https://…" />
                </el-form-item>
              </el-col>
              <el-col :span="12">
                <el-form-item label="办理地点" :error="err('offline_location')">
                  <el-input v-model="form.offline_location" data-testid="field-offline_location" />
                </el-form-item>
              </el-col>
              <el-col :span="24">
                <el-form-item label="设定依据" :error="err('legal_basis')">
                  <el-input v-model="form.legal_basis" type="textarea" :rows="3" data-testid="field-legal_basis" />
                </el-form-item>
              </el-col>
            </el-row>
          </el-tab-pane>

          <el-tab-pane :label="'办理要件（' + form.materials.length + '）'" name="materials">
            <div v-if="err('materials')" class="list-error">{{ err('materials') }}</div>
            <el-table :data="form.materials" border size="small" empty-text="暂无要件" data-testid="materials-table">
              <el-table-column type="index" label="序号" width="56" />
              <el-table-column label="材料名称" min-width="200">
                <template #default="{ row, $index }">
                  <el-input v-model="row.name" size="small" data-testid="material-name" />
                  <div v-if="err('materials.' + $index + '.name')" class="cell-error">{{ err('materials.' + $index + '.name') }}</div>
                </template>
              </el-table-column>
              <el-table-column label="必需" width="70" align="center">
                <template #default="{ row }"><el-checkbox v-model="row.required" /></template>
              </el-table-column>
              <el-table-column label="形式" width="110">
                <template #default="{ row, $index }">
                  <el-select v-model="row.form" size="small">
                    <el-option v-for="f in MATERIAL_FORMS" :key="f.value" :label="f.label" :value="f.value" />
                  </el-select>
                  <div v-if="err('materials.' + $index + '.form')" class="cell-error">{{ err('materials.' + $index + '.form') }}</div>
                </template>
              </el-table-column>
              <el-table-column label="份数" width="120">
                <template #default="{ row, $index }">
                  <el-input-number v-model="row.count" :min="0" :max="99" size="small" controls-position="right" style="width:96px" />
                  <div v-if="err('materials.' + $index + '.count')" class="cell-error">{{ err('materials.' + $index + '.count') }}</div>
                </template>
              </el-table-column>
              <el-table-column label="备注" min-width="160">
                <template #default="{ row, $index }">
                  <el-input v-model="row.notes" size="small" />
                  <div v-if="err('materials.' + $index + '.notes')" class="cell-error">{{ err('materials.' + $index + '.notes') }}</div>
                </template>
              </el-table-column>
              <el-table-column v-if="!readonly" label="操作" width="150" align="center">
                <template #default="{ $index }">
                  <el-button link size="small" @click="move(form.materials, $index, -1)">上移</el-button>
                  <el-button link size="small" @click="move(form.materials, $index, 1)">下移</el-button>
                  <el-button link size="small" type="danger" @click="removeAt(form.materials, $index)">删除</el-button>
                </template>
              </el-table-column>
            </el-table>
            <el-button v-if="!readonly" class="list-add" @click="addMaterial" data-testid="material-add">＋ 添加要件</el-button>
          </el-tab-pane>

          <el-tab-pane :label="'办理流程（' + form.steps.length + '）'" name="steps">
            <div v-if="err('steps')" class="list-error">{{ err('steps') }}</div>
            <el-empty v-if="!form.steps.length" description="暂无流程步骤" :image-size="60" />
            <div v-for="(s, i) in form.steps" :key="i" class="list-row">
              <span class="list-no">{{ i + 1 }}</span>
              <div class="list-fields">
                <el-input v-model="s.name" placeholder="步骤名称，如“网上申请”" data-testid="step-name" />
                <div v-if="err('steps.' + i + '.name')" class="cell-error">{{ err('steps.' + i + '.name') }}</div>
                <el-input v-model="s.description" type="textarea" :rows="2" placeholder="怎么做、在哪里做" />
                <div v-if="err('steps.' + i + '.description')" class="cell-error">{{ err('steps.' + i + '.description') }}</div>
              </div>
              <div v-if="!readonly" class="list-ops">
                <el-button link size="small" @click="move(form.steps, i, -1)">上移</el-button>
                <el-button link size="small" @click="move(form.steps, i, 1)">下移</el-button>
                <el-button link size="small" type="danger" @click="removeAt(form.steps, i)">删除</el-button>
              </div>
            </div>
            <el-button v-if="!readonly" class="list-add" @click="addStep" data-testid="step-add">＋ 添加步骤</el-button>
          </el-tab-pane>

          <el-tab-pane :label="'常见问题（' + form.faq.length + '）'" name="faq">
            <div v-if="err('faq')" class="list-error">{{ err('faq') }}</div>
            <el-empty v-if="!form.faq.length" description="暂无常见问题" :image-size="60" />
            <div v-for="(f, i) in form.faq" :key="i" class="list-row">
              <span class="list-no">{{ i + 1 }}</span>
              <div class="list-fields">
                <el-input v-model="f.q" placeholder="问题" data-testid="faq-q" />
                <div v-if="err('faq.' + i + '.q')" class="cell-error">{{ err('faq.' + i + '.q') }}</div>
                <el-input v-model="f.a" type="textarea" :rows="2" placeholder="回答" />
                <div v-if="err('faq.' + i + '.a')" class="cell-error">{{ err('faq.' + i + '.a') }}</div>
              </div>
              <div v-if="!readonly" class="list-ops">
                <el-button link size="small" @click="move(form.faq, i, -1)">上移</el-button>
                <el-button link size="small" @click="move(form.faq, i, 1)">下移</el-button>
                <el-button link size="small" type="danger" @click="removeAt(form.faq, i)">删除</el-button>
              </div>
            </div>
            <el-button v-if="!readonly" class="list-add" @click="addFaq" data-testid="faq-add">＋ 添加问题</el-button>
          </el-tab-pane>
        </el-tabs>
      </el-form>
    </div>
    <template #footer>
      <el-button @click="close" data-testid="item-cancel">{{ readonly ? '关闭' : '取消' }}</el-button>
      <el-button v-if="!readonly" type="primary" :loading="saving" :disabled="loading" @click="save"
                 data-testid="item-save">保存</el-button>
    </template>
  </el-dialog>`,
};
