// The eligibility rule editor (适用条件) and its live match count.
//
// The rule format is services/policies/rules.py's: every key optional, an absent key
// is "no condition". The editor keeps a flat form (one field per input) and turns it
// into that format on every change, leaving out whatever is blank, so "不限" is simply
// an empty input and never an empty list (which the server rightly refuses as
// "nobody can match").

import { ApiError } from '../api.js';
import { ENTERPRISE_TAGS, REGION_OPTIONS, SIZE_CLASSES } from '../labels.js';
import { policyApi } from './policy-api.js';

function blankForm() {
  return { industries: [], size_classes: [], regions: [], age_min: null, age_max: null,
    employees_min: null, employees_max: null, revenue_min: null, revenue_max: null, tags: [] };
}

function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

function range(lo, hi) {
  const out = {};
  if (isNum(lo)) out.min = lo;
  if (isNum(hi)) out.max = hi;
  return Object.keys(out).length ? out : null;
}

/** Size classes in the server's order (大型 … 微型); a code not (yet) in the table keeps its place at the end. */
function sizeOrder(codes) {
  const rank = (c) => {
    const i = SIZE_CLASSES.findIndex((s) => s.value === c);
    return i < 0 ? SIZE_CLASSES.length : i;
  };
  return [...codes].sort((a, b) => rank(a) - rank(b));
}

/** Flat form -> rule JSON with only the conditions that say something. */
export function toRules(form) {
  const rules = {};
  if (form.industries.length) rules.industries = [...form.industries];
  if (form.size_classes.length) rules.size_classes = sizeOrder(form.size_classes);
  if (form.regions.length) rules.regions = [...form.regions];
  const age = range(form.age_min, form.age_max);
  if (age) rules.age_years = age;
  const emp = range(form.employees_min, form.employees_max);
  if (emp) rules.employees = emp;
  const rev = range(form.revenue_min, form.revenue_max);
  if (rev) rules.revenue = rev;
  if (form.tags.length) rules.tags = [...form.tags];
  return rules;
}

function fromRules(rules) {
  const f = blankForm();
  const r = rules || {};
  f.industries = [...(r.industries || [])];
  f.size_classes = [...(r.size_classes || [])];
  f.regions = [...(r.regions || [])];
  f.tags = [...(r.tags || [])];
  const num = (v) => (v === undefined || v === null || v === '' ? null : Number(v));
  f.age_min = num(r.age_years && r.age_years.min);
  f.age_max = num(r.age_years && r.age_years.max);
  f.employees_min = num(r.employees && r.employees.min);
  f.employees_max = num(r.employees && r.employees.max);
  f.revenue_min = num(r.revenue && r.revenue.min);
  f.revenue_max = num(r.revenue && r.revenue.max);
  return f;
}

/** Industry picker options: whole size-standard groups first, then divisions by group. */
export function industryOptions(industries) {
  const groups = new Map();
  for (const d of industries) {
    if (!groups.has(d.group_code)) groups.set(d.group_code, { label: d.group_label, options: [] });
    groups.get(d.group_code).options.push({ value: d.code, label: `${d.code} ${d.name}` });
  }
  const whole = { label: '按划型行业类别（整个类别）',
    options: [...groups.entries()].map(([code, g]) => ({ value: code, label: `${g.label}（整个类别）` })) };
  return [whole, ...groups.values()];
}

/** A short Chinese reading of a rule set, for places without the server's wording. */
export function describeRules(rules, industries = []) {
  const r = rules || {};
  const names = new Map();
  for (const d of industries) {
    names.set(d.code, `${d.name}（${d.code}）`);
    names.set(d.group_code, d.group_label);
  }
  const regionNames = new Map(REGION_OPTIONS.map((o) => [o.value, `${o.label}（${o.value}）`]));
  const span = (x, unit) => {
    if (!x) return '';
    if (isNum(x.min) && isNum(x.max)) return `${x.min}–${x.max}${unit}`;
    return isNum(x.min) ? `不少于${x.min}${unit}` : `不超过${x.max}${unit}`;
  };
  const lines = [];
  if (r.industries) lines.push('适用行业：' + r.industries.map((c) => names.get(c) || c).join('、'));
  if (r.size_classes) {
    const sizeNames = new Map(SIZE_CLASSES.map((s) => [s.value, s.label]));
    lines.push('企业规模：' + sizeOrder(r.size_classes).map((c) => sizeNames.get(c) || c).join('、'));
  }
  if (r.regions) lines.push('适用地区：' + r.regions.map((c) => regionNames.get(c) || `行政区划 ${c}`).join('、'));
  if (r.age_years) {
    const a = r.age_years;
    const parts = [];
    if (isNum(a.min) && a.min > 0) parts.push(`成立满${a.min}年`);
    if (isNum(a.max)) parts.push(`不满${a.max}年`);
    lines.push('成立年限：' + parts.join('、'));
  }
  if (r.employees) lines.push('从业人员：' + span(r.employees, '人'));
  if (r.revenue) lines.push('上年营业收入：' + span(r.revenue, '万元'));
  if (r.tags) {
    const tagNames = new Map(ENTERPRISE_TAGS.map((t) => [t.value, t.label]));
    lines.push('企业资质：' + r.tags.map((t) => tagNames.get(t) || t).join('、') + '（具备其一即可）');
  }
  return lines.length ? lines : ['不限条件，各类企业均可享受'];
}

export const RuleEditor = {
  name: 'RuleEditor',
  props: {
    modelValue: { type: Object, default: () => ({}) },
    industries: { type: Array, default: () => [] },
    readonly: { type: Boolean, default: false },
    // Server messages keyed "rules.size_classes" etc.
    errors: { type: Object, default: () => ({}) },
  },
  emits: ['update:modelValue'],
  setup(props, { emit }) {
    const form = Vue.reactive(fromRules(props.modelValue));
    // What we last emitted, so the parent echoing it back does not reset the inputs
    // (and lose a half-typed number) on every keystroke.
    let lastEmitted = JSON.stringify(toRules(form));

    Vue.watch(() => props.modelValue, (value) => {
      if (JSON.stringify(value || {}) === lastEmitted) return;
      Object.assign(form, fromRules(value));
      lastEmitted = JSON.stringify(toRules(form));
    }, { deep: true });

    Vue.watch(form, () => {
      const rules = toRules(form);
      const text = JSON.stringify(rules);
      if (text === lastEmitted) return;
      lastEmitted = text;
      emit('update:modelValue', rules);
    }, { deep: true });

    const options = Vue.computed(() => industryOptions(props.industries));

    function err(key) {
      return props.errors['rules.' + key] || '';
    }

    function regionLabel(code) {
      const hit = REGION_OPTIONS.find((o) => o.value === code);
      return hit ? `${hit.label}（${code}）` : code;
    }

    return { form, options, err, regionLabel, SIZE_CLASSES, ENTERPRISE_TAGS, REGION_OPTIONS };
  },
  template: `
  <div class="rule-editor" data-testid="rule-editor">
    <el-alert v-if="errors.rules" type="error" :title="errors.rules" :closable="false" show-icon class="dialog-alert" />
    <el-form label-width="110px" :disabled="readonly">
      <el-form-item label="适用行业" :error="err('industries')">
        <el-select v-model="form.industries" multiple filterable placeholder="不限行业（可按类别或行业代码选择，输入可搜索）"
                   style="width:100%" data-testid="rule-industries">
          <el-option-group v-for="g in options" :key="g.label" :label="g.label">
            <el-option v-for="o in g.options" :key="o.value" :label="o.label" :value="o.value" />
          </el-option-group>
        </el-select>
      </el-form-item>
      <el-form-item label="企业规模" :error="err('size_classes')">
        <el-checkbox-group v-model="form.size_classes" data-testid="rule-sizes">
          <el-checkbox-button v-for="s in SIZE_CLASSES" :key="s.value" :value="s.value"
                              :data-testid="'rule-size-' + s.value">{{ s.label }}</el-checkbox-button>
        </el-checkbox-group>
        <span class="rule-hint">{{ form.size_classes.length ? '' : '不选即不限规模' }}</span>
      </el-form-item>
      <el-form-item label="适用地区" :error="err('regions')">
        <el-select v-model="form.regions" multiple filterable allow-create default-first-option :reserve-keyword="false"
                   placeholder="不限地区；可选或输入行政区划代码前缀，如 4403、440305" style="width:100%"
                   data-testid="rule-regions">
          <el-option v-for="o in REGION_OPTIONS" :key="o.value" :label="o.label + '（' + o.value + '）'" :value="o.value" />
          <el-option v-for="c in form.regions.filter((c) => !REGION_OPTIONS.some((o) => o.value === c))"
                     :key="c" :label="regionLabel(c)" :value="c" />
        </el-select>
      </el-form-item>
      <el-form-item label="成立年限" :error="err('age_years')">
        <span class="rule-inline">成立满</span>
        <el-input-number v-model="form.age_min" :min="0" :max="80" :value-on-clear="null" controls-position="right"
                         placeholder="不限" class="rule-num" data-testid="rule-age-min" />
        <span class="rule-inline">年，不满</span>
        <el-input-number v-model="form.age_max" :min="1" :max="80" :value-on-clear="null" controls-position="right"
                         placeholder="不限" class="rule-num" data-testid="rule-age-max" />
        <span class="rule-inline">年</span>
      </el-form-item>
      <el-form-item label="从业人员" :error="err('employees')">
        <el-input-number v-model="form.employees_min" :min="0" :value-on-clear="null" controls-position="right"
                         placeholder="不限" class="rule-num" data-testid="rule-employees-min" />
        <span class="rule-inline">至</span>
        <el-input-number v-model="form.employees_max" :min="0" :value-on-clear="null" controls-position="right"
                         placeholder="不限" class="rule-num" data-testid="rule-employees-max" />
        <span class="rule-inline">人（含两端）</span>
      </el-form-item>
      <el-form-item label="上年营业收入" :error="err('revenue')">
        <el-input-number v-model="form.revenue_min" :min="0" :precision="2" :step="100" :value-on-clear="null"
                         controls-position="right" placeholder="不限" class="rule-num" data-testid="rule-revenue-min" />
        <span class="rule-inline">至</span>
        <el-input-number v-model="form.revenue_max" :min="0" :precision="2" :step="100" :value-on-clear="null"
                         controls-position="right" placeholder="不限" class="rule-num" data-testid="rule-revenue-max" />
        <span class="rule-inline">万元（含两端）</span>
      </el-form-item>
      <el-form-item label="企业资质" :error="err('tags')">
        <el-select v-model="form.tags" multiple placeholder="不限资质；选择多项时具备其一即可" style="width:100%"
                   data-testid="rule-tags">
          <el-option v-for="t in ENTERPRISE_TAGS" :key="t.value" :label="t.label" :value="t.value" />
        </el-select>
      </el-form-item>
    </el-form>
    <p class="rule-note">未填写成立日期、人数或营业收入的企业不会因此被排除（会提醒其补充资料）；资质须企业已声明才算符合。</p>
  </div>`,
};

/**
 * "约 N 家企业符合": asks the server to count the enterprises the rules match, a
 * moment after the officer stops changing them. Only the newest answer is shown:
 * a slow reply to an older rule set must not overwrite a newer count.
 */
export const MatchPreview = {
  name: 'MatchPreview',
  props: {
    rules: { type: Object, default: () => ({}) },
    delay: { type: Number, default: 400 },
  },
  emits: ['problems'],
  setup(props, { emit }) {
    const count = Vue.ref(null);
    const lines = Vue.ref([]);
    const problem = Vue.ref('');
    const loading = Vue.ref(false);
    let timer = null;
    let seq = 0;
    let unmounted = false;

    async function run() {
      const mine = ++seq;
      loading.value = true;
      try {
        const res = await policyApi.preview(props.rules || {});
        if (mine !== seq || unmounted) return;
        count.value = res.count;
        lines.value = res.conditions || [];
        problem.value = '';
        emit('problems', []);
      } catch (e) {
        if (mine !== seq || unmounted) return;
        count.value = null;
        lines.value = [];
        // A 422 is the server explaining why the rules cannot match anyone: that is
        // the answer the officer needs, shown in place of the count.
        problem.value = e.message || '无法计算符合条件的企业数';
        emit('problems', e instanceof ApiError ? e.details : []);
      } finally {
        if (mine === seq && !unmounted) loading.value = false;
      }
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(run, props.delay);
    }

    Vue.watch(() => JSON.stringify(props.rules || {}), schedule);
    Vue.onMounted(run);
    Vue.onBeforeUnmount(() => {
      unmounted = true;
      window.clearTimeout(timer);
    });

    return { count, lines, problem, loading };
  },
  template: `
  <div class="match-preview" data-testid="match-preview">
    <div class="match-title">实时匹配</div>
    <div v-if="problem" class="match-problem" data-testid="match-problem">{{ problem }}</div>
    <div v-else class="match-count">
      约 <b data-testid="match-count">{{ count === null ? '…' : count }}</b> 家企业符合
      <el-icon v-if="loading" class="is-loading match-spin"><Loading /></el-icon>
    </div>
    <ul v-if="lines.length" class="match-lines">
      <li v-for="(l, i) in lines" :key="i">{{ l }}</li>
    </ul>
    <div class="match-foot">按已认证企业的登记信息估算，条件变动后自动重算</div>
  </div>`,
};
