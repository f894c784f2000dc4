// 派单 / 改派 (supervisor): pick a consultant of the department, seeing how many open
// cases each already has and which topics they know, so the choice balances the work.
// A reassignment needs a reason (the server says so too); a first assignment does not.

import { ApiError, toastError } from '../api.js';
import { casesApi, itemsOf } from './cases-api.js';

export default {
  name: 'CaseAssignDialog',
  props: {
    modelValue: { type: Boolean, default: false },
    // The case summary or detail: id, title, assignee, topic.
    target: { type: Object, default: null },
  },
  emits: ['update:modelValue', 'assigned'],
  setup(props, { emit }) {
    const consultants = Vue.ref([]);
    const topicNames = Vue.ref({});
    const loading = Vue.ref(false);
    const saving = Vue.ref(false);
    const form = Vue.reactive({ assignee_id: null, reason: '' });
    const error = Vue.ref('');
    const reassign = Vue.computed(() => !!(props.target && props.target.assignee));

    Vue.watch(() => props.modelValue, async (open) => {
      if (!open) return;
      form.assignee_id = null;
      form.reason = '';
      error.value = '';
      loading.value = true;
      try {
        // Least open work first: the same order the automatic dispatch prefers.
        const [list, topics] = await Promise.all([casesApi.consultants(), casesApi.topics()]);
        consultants.value = itemsOf(list).slice().sort((a, b) => a.open_cases - b.open_cases);
        topicNames.value = Object.fromEntries(itemsOf(topics).map((t) => [t.code, t.name]));
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    });

    function skills(c) {
      return c.skills.map((code) => topicNames.value[code] || code).join('、');
    }

    function skilled(c) {
      return !!(props.target && props.target.topic && c.skills.includes(props.target.topic.code));
    }

    async function submit() {
      error.value = '';
      if (!form.assignee_id) { error.value = '请选择承办咨询员'; return; }
      if (reassign.value && form.reason.trim().length < 2) { error.value = '改派请写明原因（至少 2 个字）'; return; }
      saving.value = true;
      try {
        const result = await casesApi.assign(props.target.id, form.assignee_id, form.reason.trim());
        const who = consultants.value.find((c) => c.id === form.assignee_id);
        ElementPlus.ElMessage({ type: 'success', message: `已${reassign.value ? '改派' : '派单'}给${who ? who.name : '咨询员'}` });
        emit('update:modelValue', false);
        emit('assigned', result);
      } catch (e) {
        if (e instanceof ApiError && e.status === 422) error.value = e.message;
        else toastError(e);
      } finally {
        saving.value = false;
      }
    }

    return { consultants, loading, saving, form, error, reassign, skills, skilled, submit };
  },
  template: `
  <el-dialog :model-value="modelValue" @update:model-value="$emit('update:modelValue', $event)"
             :title="reassign ? '改派' : '派单'" width="620px" append-to-body :close-on-click-modal="false">
    <div data-testid="assign-dialog" v-loading="loading">
      <p v-if="target" class="muted">#{{ target.id }}　{{ target.title }}<span v-if="target.assignee">　当前承办：{{ target.assignee.name }}</span></p>
      <el-alert v-if="error" :title="error" type="error" show-icon :closable="false" class="dialog-alert" />
      <el-table :data="consultants" border size="small" highlight-current-row empty-text="本部门暂无咨询员"
                @current-change="(c) => { form.assignee_id = c ? c.id : null }" data-testid="assign-consultants">
        <el-table-column width="48" align="center">
          <template #default="{ row }"><el-radio v-model="form.assignee_id" :value="row.id">&nbsp;</el-radio></template>
        </el-table-column>
        <el-table-column label="咨询员" min-width="120">
          <template #default="{ row }"><span data-testid="assign-consultant-name">{{ row.name }}</span></template>
        </el-table-column>
        <el-table-column label="在办" width="80" align="center">
          <template #default="{ row }"><span data-testid="assign-open-count">{{ row.open_cases }}</span> 件</template>
        </el-table-column>
        <el-table-column label="擅长主题" min-width="140">
          <template #default="{ row }">
            <el-tag disable-transitions v-if="skilled(row)" size="small" type="success" class="term-tag">对口</el-tag>
            <span class="muted">{{ skills(row) || '—' }}</span>
          </template>
        </el-table-column>
      </el-table>
      <el-input v-model="form.reason" type="textarea" :rows="2" maxlength="500" style="margin-top:12px"
                :placeholder="reassign ? '改派原因（必填）' : '派单说明（选填）'" data-testid="assign-reason" />
    </div>
    <template #footer>
      <el-button @click="$emit('update:modelValue', false)">取消</el-button>
      <el-button type="primary" :loading="saving" @click="submit" data-testid="assign-submit">{{ reassign ? '确定改派' : '确定派单' }}</el-button>
    </template>
  </el-dialog>`,
};
