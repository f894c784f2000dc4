// 登记来电: a phone, walk-in or 12345 case recorded on an enterprise's behalf. The
// enterprise is picked by name from the register or given by its credit code; one
// Idempotency-Key per opened dialog, so a double click or a retry after a network
// error records the call once.

import { ApiError, toastError } from '../api.js';
import { fieldLabel } from '../labels.js';
import { CASE_OPTIONS, casesApi, itemsOf, newKey } from './cases-api.js';

const OFFLINE_CHANNELS = ['phone', 'walk_in', 'hotline_12345'];

export default {
  name: 'CaseIntakeDialog',
  props: { modelValue: { type: Boolean, default: false } },
  emits: ['update:modelValue', 'created'],
  setup(props, { emit }) {
    const form = Vue.reactive({ by: 'name', enterprise_id: null, credit_code: '', channel: 'phone', contact_name: '',
      kind: 'consultation', content: '', service_item_id: null });
    const enterprises = Vue.ref([]);
    const items = Vue.ref([]);
    const searching = Vue.ref(false);
    const saving = Vue.ref(false);
    const errors = Vue.ref([]);
    let key = newKey();

    Vue.watch(() => props.modelValue, (open) => {
      if (!open) return;
      Object.assign(form, { by: 'name', enterprise_id: null, credit_code: '', channel: 'phone', contact_name: '',
        kind: 'consultation', content: '', service_item_id: null });
      errors.value = [];
      key = newKey();
    });

    const channels = Vue.computed(() => OFFLINE_CHANNELS.map((c) => ({ value: c, label: CASE_OPTIONS.channels[c] || c })));
    const kinds = Vue.computed(() => Object.entries(CASE_OPTIONS.kinds).map(([value, label]) => ({ value, label })));

    async function findEnterprises(q) {
      if (!q || !q.trim()) return;
      searching.value = true;
      try {
        enterprises.value = itemsOf(await casesApi.enterprises(q.trim()));
      } catch (e) {
        toastError(e);
      } finally {
        searching.value = false;
      }
    }

    async function findItems(q) {
      if (!q || !q.trim()) return;
      try {
        items.value = itemsOf(await casesApi.serviceItems(q.trim()));
      } catch (e) {
        toastError(e);
      }
    }

    async function submit() {
      errors.value = [];
      const body = { channel: form.channel, contact_name: form.contact_name.trim(), kind: form.kind,
        content: form.content.trim() };
      if (form.by === 'name') {
        if (!form.enterprise_id) { errors.value = ['请选择企业']; return; }
        body.enterprise_id = form.enterprise_id;
      } else {
        if (form.credit_code.trim().length !== 18) { errors.value = ['请填写 18 位统一社会信用代码']; return; }
        body.credit_code = form.credit_code.trim().toUpperCase();
      }
      if (form.service_item_id) body.service_item_id = form.service_item_id;
      if (body.content.length < 5) { errors.value = ['请填写来电内容（5 个字以上）']; return; }
      saving.value = true;
      try {
        const created = await casesApi.offline(body, key);
        ElementPlus.ElMessage({ type: 'success', message: `已登记，事项编号 #${created.id}` });
        emit('update:modelValue', false);
        emit('created', created);
      } catch (e) {
        if (e instanceof ApiError && e.status === 422 && e.details.length) {
          errors.value = e.details.map((d) => (d.field ? fieldLabel(d.field) + '：' : '') + d.message);
        } else {
          toastError(e);
        }
      } finally {
        saving.value = false;
      }
    }

    return { form, enterprises, items, searching, saving, errors, channels, kinds, findEnterprises, findItems, submit,
      CASE_OPTIONS };
  },
  template: `
  <el-dialog :model-value="modelValue" @update:model-value="$emit('update:modelValue', $event)" title="登记来电 / 来访"
             width="620px" append-to-body :close-on-click-modal="false">
    <div data-testid="intake-dialog">
      <el-alert v-for="(m, i) in errors" :key="i" :title="m" type="error" show-icon :closable="false" class="dialog-alert" />
      <el-form label-width="96px">
        <el-form-item label="来源渠道" required>
          <el-radio-group v-model="form.channel" data-testid="intake-channel">
            <el-radio-button v-for="c in channels" :key="c.value" :value="c.value">{{ c.label }}</el-radio-button>
          </el-radio-group>
        </el-form-item>
        <el-form-item label="企业" required>
          <el-radio-group v-model="form.by" size="small" style="margin-bottom:6px">
            <el-radio value="name">按名称查找</el-radio>
            <el-radio value="code">按统一社会信用代码</el-radio>
          </el-radio-group>
          <el-select v-if="form.by === 'name'" v-model="form.enterprise_id" filterable remote :remote-method="findEnterprises"
                     :loading="searching" placeholder="输入企业名称关键字" style="width:100%" data-testid="intake-enterprise">
            <el-option v-for="e in enterprises" :key="e.id" :value="e.id" :label="e.name">
              <span>{{ e.name }}</span><span class="muted" style="float:right">{{ e.credit_code }}</span>
            </el-option>
          </el-select>
          <el-input v-else v-model="form.credit_code" maxlength="18" placeholder="18 位统一社会信用代码"
                    data-testid="intake-credit-code" />
        </el-form-item>
        <el-form-item label="来电人">
          <el-input v-model="form.contact_name" maxlength="32" placeholder="姓名（选填）" data-testid="intake-contact" />
        </el-form-item>
        <el-form-item label="类型" required>
          <el-radio-group v-model="form.kind" data-testid="intake-kind">
            <el-radio v-for="k in kinds" :key="k.value" :value="k.value">{{ k.label }}</el-radio>
          </el-radio-group>
        </el-form-item>
        <el-form-item label="相关事项">
          <el-select v-model="form.service_item_id" filterable remote clearable :remote-method="findItems"
                     placeholder="选填，输入关键字查找" style="width:100%" data-testid="intake-item">
            <el-option v-for="it in items" :key="it.id" :value="it.id" :label="it.name" />
          </el-select>
        </el-form-item>
        <el-form-item label="内容" required>
          <el-input v-model="form.content" type="textarea" :rows="5" :maxlength="CASE_OPTIONS.max_chars" show-word-limit
                    placeholder="企业咨询的问题或意见，尽量记录原话" data-testid="intake-content" />
        </el-form-item>
      </el-form>
    </div>
    <template #footer>
      <el-button @click="$emit('update:modelValue', false)">取消</el-button>
      <el-button type="primary" :loading="saving" @click="submit" data-testid="intake-submit">登记并派单</el-button>
    </template>
  </el-dialog>`,
};
