// 需求洞察 (policy officers; supervisors see their own department): trends with
// week-over-week change, rising topics, emerging clusters with "加入主题目录",
// the friction index with its elements, department performance, policy reach and
// one-window bundle candidates. One filter bar drives every chart; the export
// button downloads what the current tab shows, after disclosure control (server side).

import { api, saveBlob, session, toastError } from '../api.js';
import { can } from '../labels.js';

const SIZES = [{ code: 'micro', label: '微型' }, { code: 'small', label: '小型' }, { code: 'medium', label: '中型' },
  { code: 'large', label: '大型' }];
const TABS = [
  { name: 'trends', label: '咨询趋势', path: '/api/v1/insights/trends', view: 'trends' },
  { name: 'rising', label: '上升主题', path: '/api/v1/insights/rising-topics', view: 'rising' },
  { name: 'emerging', label: '新兴主题', path: '/api/v1/insights/emerging-topics', view: null },
  { name: 'friction', label: '事项摩擦指数', path: '/api/v1/insights/friction', view: 'friction' },
  { name: 'departments', label: '部门绩效', path: '/api/v1/insights/departments', view: 'departments' },
  { name: 'reach', label: '政策触达', path: '/api/v1/insights/policy-reach', view: 'policy-reach' },
  { name: 'bundles', label: '一口受理', path: '/api/v1/insights/bundles', view: 'bundles' },
];
const COMPONENT_LABELS = {
  cases_per_1000: '每千户件数', repeat_share: '重复咨询', close_hours: '办结时长', overdue_share: '超期',
  poor_share: '差评', element_complaints_per_100: '要素投诉',
};
const ELEMENT_LABELS = { materials: '材料', steps: '环节', time_limit: '时限', fees: '收费' };
const BASE = { animation: false, color: ['#1f6fb2', '#e26d5c', '#3ba272', '#fac858', '#9a60b4', '#73c0de', '#fc8452', '#5470c6'] };

const pct = (v) => (v === null || v === undefined ? '—' : (v * 100).toFixed(1) + '%');

export function proposeFrom(prefill) {
  // The proposals page reads this once when it opens (then forgets it).
  window.sessionStorage.setItem('sz.proposal.prefill', JSON.stringify(prefill));
  window.location.hash = '#/proposals';
}

export default {
  name: 'InsightsPage',
  setup() {
    const tab = Vue.ref('trends');
    const filters = Vue.reactive({ period: null, department: '', region_code: '', industry_group: '', size_class: '',
      dimension: 'topic' });
    const departments = Vue.ref([]);
    const industries = Vue.ref([]);
    const data = Vue.reactive({});
    const loading = Vue.ref(false);
    const exporting = Vue.ref(false);
    const adopt = Vue.reactive({ open: false, code: '', name: '', keywords: [], saving: false });
    const chartEls = { trends: Vue.ref(null), rising: Vue.ref(null), friction: Vue.ref(null),
      departments: Vue.ref(null), reach: Vue.ref(null), bundles: Vue.ref(null) };
    const charts = {};
    const isOfficer = Vue.computed(() => can(session.user, 'insights.propose'));
    let unmounted = false;

    function query() {
      const q = { department: filters.department, region_code: filters.region_code,
        industry_group: filters.industry_group, size_class: filters.size_class };
      if (filters.period) [q.since, q.until] = filters.period;
      if (tab.value === 'trends') q.dimension = filters.dimension;
      return q;
    }

    function chart(name) {
      const el = chartEls[name] && chartEls[name].value;
      if (!el || unmounted) return null;
      if (charts[name]) charts[name].dispose();
      charts[name] = echarts.init(el);
      return charts[name];
    }

    const DRAW = {
      trends(d) {
        const c = chart('trends');
        if (!c) return;
        c.setOption({ ...BASE, tooltip: { trigger: 'axis' }, legend: { top: 0, type: 'scroll' },
          grid: { left: 48, right: 56, top: 40, bottom: 40 },
          xAxis: { type: 'category', data: d.weeks },
          yAxis: [{ type: 'value', name: '件', minInterval: 1 }, { type: 'value', name: '合计环比',
            axisLabel: { formatter: (v) => Math.round(v * 100) + '%' } }],
          series: [...d.series.map((s) => ({ name: s.label, type: 'line', smooth: true, data: s.cases })),
            { name: '合计环比', type: 'bar', yAxisIndex: 1, barMaxWidth: 14, itemStyle: { opacity: 0.35 },
              data: d.total_wow.map((v) => (v === null ? null : v)) }] });
      },
      rising(d) {
        const c = chart('rising');
        if (!c) return;
        const top = d.topics.slice(0, 15).reverse();
        c.setOption({ ...BASE, tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } }, legend: { top: 0 },
          grid: { left: 110, right: 40, top: 36, bottom: 30 },
          yAxis: { type: 'category', data: top.map((t) => t.label) }, xAxis: { type: 'value', name: '件' },
          series: [{ name: '本周', type: 'bar', data: top.map((t) => ({ value: t.this_week,
            itemStyle: { color: t.rising ? '#e26d5c' : '#1f6fb2' } })), label: { show: true, position: 'right' } },
          { name: '前 8 周周均', type: 'bar', data: top.map((t) => t.baseline_mean), itemStyle: { color: '#bbb' } }] });
      },
      friction(d) {
        const c = chart('friction');
        if (!c) return;
        const top = d.items.slice(0, 12).reverse();
        const comps = Object.keys(COMPONENT_LABELS);
        c.setOption({ ...BASE, tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
          legend: { top: 0, type: 'scroll' }, grid: { left: 160, right: 30, top: 40, bottom: 30 },
          yAxis: { type: 'category', data: top.map((i) => i.label), axisLabel: { width: 150, overflow: 'truncate' } },
          xAxis: { type: 'value', name: '指数', max: 100 },
          // Each component's share of the index (index = mean of components × 100).
          series: comps.map((k) => ({ name: COMPONENT_LABELS[k], type: 'bar', stack: 'idx',
            data: top.map((i) => +(100 * i.components[k] / comps.length).toFixed(1)) })) });
      },
      departments(d) {
        const c = chart('departments');
        if (!c) return;
        const rows = d.departments;
        c.setOption({ ...BASE, tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } }, legend: { top: 0 },
          grid: { left: 48, right: 16, top: 36, bottom: 60 },
          xAxis: { type: 'category', data: rows.map((r) => r.label), axisLabel: { interval: 0, rotate: 20 } },
          yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
          series: [['按时答复率', 'on_time_rate'], ['满意占比', 'satisfied_share'], ['回访完成率', 'callback_rate']]
            .map(([name, k]) => ({ name, type: 'bar', barMaxWidth: 28, data: rows.map((r) => +(100 * r[k]).toFixed(1)) })) });
      },
      reach(d) {
        const c = chart('reach');
        if (!c) return;
        const t = d.total;
        c.setOption({ ...BASE, tooltip: { trigger: 'item' },
          series: [{ type: 'funnel', left: '10%', width: '80%', sort: 'none', label: { formatter: '{b}：{c}' },
            data: [{ name: '匹配', value: t.matched }, { name: '送达', value: t.delivered }, { name: '阅读', value: t.read },
              { name: '免申即享确认', value: t.consented }, { name: '追问', value: t.followups }] }] });
      },
      bundles(d) {
        const c = chart('bundles');
        if (!c) return;
        const nodes = new Map();
        const links = [];
        for (const b of d.bundles.filter((x) => x.size === 2).slice(0, 30)) {
          b.items.forEach((id, i) => nodes.set(id, { id: String(id), name: b.labels[i], symbolSize: 18 }));
          links.push({ source: String(b.items[0]), target: String(b.items[1]), value: b.enterprises,
            lineStyle: { width: Math.min(10, 1 + b.lift) } });
        }
        c.setOption({ ...BASE, tooltip: {}, series: [{ type: 'graph', layout: 'force', roam: true,
          label: { show: true, position: 'right' }, force: { repulsion: 220, edgeLength: 120 },
          data: [...nodes.values()], links, edgeLabel: { show: true, formatter: (p) => p.data.value + ' 家' } }] });
      },
    };

    async function load() {
      const t = TABS.find((x) => x.name === tab.value);
      loading.value = true;
      try {
        const d = await api('GET', t.path, { query: query() });
        data[t.name] = d;
        Vue.nextTick(() => DRAW[t.name] && DRAW[t.name](d));
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    }

    async function exportView() {
      const t = TABS.find((x) => x.name === tab.value);
      exporting.value = true;
      try {
        const { blob, filename } = await api('GET', '/api/v1/insights/export.xlsx',
          { query: { ...query(), view: t.view }, blob: true });
        saveBlob(blob, filename || 'insights.xlsx');
        ElementPlus.ElMessage({ type: 'success', message: '已导出（不足 5 家企业的行已抑制）' });
      } catch (e) {
        toastError(e);
      } finally {
        exporting.value = false;
      }
    }

    function openAdopt(cluster) {
      Object.assign(adopt, { open: true, code: '', name: cluster.terms.slice(0, 2).join(''),
        keywords: cluster.terms.slice(), saving: false });
    }

    async function saveAdopt() {
      adopt.saving = true;
      try {
        await api('POST', '/api/v1/insights/emerging-topics/adopt',
          { body: { code: adopt.code, name: adopt.name, keywords: adopt.keywords } });
        adopt.open = false;
        ElementPlus.ElMessage({ type: 'success', message: '已加入主题目录' });
      } catch (e) {
        toastError(e);
      } finally {
        adopt.saving = false;
      }
    }

    Vue.watch(tab, load);
    Vue.onMounted(async () => {
      try {
        const [deps, opts] = await Promise.all([api('GET', '/api/v1/departments'),
          api('GET', '/api/v1/reference/policy-options')]);
        departments.value = deps.items;
        industries.value = opts.industry_groups;
      } catch (e) {
        toastError(e);
      }
      load();
    });
    Vue.onBeforeUnmount(() => {
      unmounted = true;
      Object.values(charts).forEach((c) => c.dispose());
    });

    return { tab, TABS, filters, departments, industries, SIZES, data, loading, exporting, load, exportView,
      adopt, openAdopt, saveAdopt, pct, ELEMENT_LABELS, COMPONENT_LABELS, proposeFrom, isOfficer,
      canExport: Vue.computed(() => !!TABS.find((x) => x.name === tab.value).view),
      ...Object.fromEntries(Object.entries(chartEls).map(([k, v]) => [k + 'El', v])) };
  },
  template: `
  <div class="insights-page">
    <el-card shadow="never" class="filter-bar" data-testid="insights-filters">
      <el-form inline @submit.prevent>
        <el-form-item label="时段">
          <el-date-picker v-model="filters.period" type="daterange" value-format="YYYY-MM-DD" unlink-panels
            start-placeholder="起始" end-placeholder="截止" style="width: 240px" />
        </el-form-item>
        <el-form-item label="部门">
          <el-select v-model="filters.department" clearable placeholder="全部" style="width: 150px">
            <el-option v-for="d in departments" :key="d.code" :label="d.name" :value="d.code" />
          </el-select>
        </el-form-item>
        <el-form-item label="区县">
          <el-input v-model="filters.region_code" clearable placeholder="6 位代码" style="width: 110px" maxlength="6" />
        </el-form-item>
        <el-form-item label="行业">
          <el-select v-model="filters.industry_group" clearable placeholder="全部" style="width: 150px">
            <el-option v-for="g in industries" :key="g.code" :label="g.label" :value="g.code" />
          </el-select>
        </el-form-item>
        <el-form-item label="规模">
          <el-select v-model="filters.size_class" clearable placeholder="全部" style="width: 100px">
            <el-option v-for="s in SIZES" :key="s.code" :label="s.label" :value="s.code" />
          </el-select>
        </el-form-item>
        <el-form-item>
          <el-button type="primary" @click="load" :loading="loading" data-testid="insights-apply">查询</el-button>
          <el-button @click="exportView" :loading="exporting" :disabled="!canExport" data-testid="insights-export">
            导出 XLSX</el-button>
        </el-form-item>
      </el-form>
    </el-card>
    <el-tabs v-model="tab" data-testid="insights-tabs">
      <el-tab-pane v-for="t in TABS" :key="t.name" :label="t.label" :name="t.name" />
    </el-tabs>
    <div v-loading="loading">
      <section v-if="tab === 'trends'" data-testid="panel-trends">
        <el-radio-group v-model="filters.dimension" size="small" @change="load" style="margin-bottom: 8px">
          <el-radio-button value="topic">按主题</el-radio-button>
          <el-radio-button value="department">按部门</el-radio-button>
          <el-radio-button value="item">按事项</el-radio-button>
        </el-radio-group>
        <div ref="trendsEl" class="chart" style="height: 340px; width: 100%" data-testid="chart-trends"></div>
        <el-table v-if="data.trends" :data="data.trends.series" size="small" border>
          <el-table-column prop="label" label="分组" />
          <el-table-column prop="total" label="合计" width="90" />
          <el-table-column label="最近一周" width="100"><template #default="{ row }">{{ row.cases[row.cases.length - 1] }}</template></el-table-column>
          <el-table-column label="环比" width="100"><template #default="{ row }">{{ pct(row.wow[row.wow.length - 1]) }}</template></el-table-column>
        </el-table>
      </section>
      <section v-if="tab === 'rising'" data-testid="panel-rising">
        <el-alert v-if="data.rising" type="info" :closable="false" :title="data.rising.test" show-icon />
        <div ref="risingEl" class="chart" style="height: 340px; width: 100%" data-testid="chart-rising"></div>
        <el-table v-if="data.rising" :data="data.rising.topics" size="small" border data-testid="rising-table">
          <el-table-column prop="label" label="主题" />
          <el-table-column prop="this_week" label="本周" width="80" />
          <el-table-column prop="baseline_mean" label="前8周周均" width="110" />
          <el-table-column prop="ratio" label="倍数" width="80" />
          <el-table-column label="p 值" width="110"><template #default="{ row }">{{ row.p_value.toExponential(1) }}</template></el-table-column>
          <el-table-column label="判断" width="100"><template #default="{ row }">
            <el-tag :type="row.rising ? 'danger' : 'info'" size="small">{{ row.rising ? '显著上升' : '正常' }}</el-tag></template></el-table-column>
        </el-table>
      </section>
      <section v-if="tab === 'emerging' && data.emerging" data-testid="panel-emerging">
        <el-alert type="info" :closable="false" show-icon
          :title="data.emerging.method + '；参与聚类 ' + data.emerging.questions + ' 条'" />
        <el-alert v-if="data.emerging.pending" type="warning" :closable="false" show-icon style="margin-top: 8px"
          data-testid="emerging-pending" title="该筛选条件下的聚类正在后台首次计算，请稍后刷新" />
        <div v-else class="muted" style="margin-top: 8px" data-testid="emerging-generated">
          聚类计算于 {{ new Date(data.emerging.generated_at).toLocaleString('zh-CN') }}
          <span v-if="data.emerging.stale">；此后新到 {{ data.emerging.new_questions }} 条未归类问题，正在后台重算，稍后刷新可见</span>
        </div>
        <el-empty v-if="!data.emerging.pending && !data.emerging.clusters.length" description="近期未归类的问题不足以聚类" />
        <el-row :gutter="12" style="margin-top: 12px">
          <el-col v-for="c in data.emerging.clusters" :key="c.n" :span="8">
            <el-card shadow="hover" class="cluster-card" data-testid="cluster-card">
              <template #header><b>{{ c.terms.slice(0, 4).join(' · ') }}</b>
                <span class="muted">　{{ c.size }} 条 / {{ c.enterprises }} 家</span></template>
              <div><el-tag v-for="t in c.terms" :key="t" size="small" style="margin: 2px">{{ t }}</el-tag></div>
              <ul class="examples"><li v-for="(e, i) in c.examples" :key="i">{{ e }}</li></ul>
              <el-button v-if="isOfficer" size="small" type="primary" plain @click="openAdopt(c)"
                data-testid="adopt-button">加入主题目录</el-button>
            </el-card>
          </el-col>
        </el-row>
      </section>
      <section v-if="tab === 'friction'" data-testid="panel-friction">
        <el-alert v-if="data.friction" type="info" :closable="false" show-icon
          :title="data.friction.audience_note + '（' + data.friction.audience + ' 家）'" />
        <div ref="frictionEl" class="chart" style="height: 420px; width: 100%" data-testid="chart-friction"></div>
        <el-table v-if="data.friction" :data="data.friction.items" size="small" border>
          <el-table-column prop="label" label="事项" min-width="180" />
          <el-table-column prop="department" label="部门" width="120" />
          <el-table-column prop="score" label="指数" width="70" />
          <el-table-column prop="cases" label="件数" width="70" />
          <el-table-column label="主要因素" min-width="160"><template #default="{ row }">
            {{ row.drivers.map((d) => COMPONENT_LABELS[d]).join('、') || '—' }}</template></el-table-column>
          <el-table-column label="要素投诉" min-width="140"><template #default="{ row }">
            {{ row.elements.map((e) => (ELEMENT_LABELS[e.element] || e.element) + ' ' + e.count).join('，') || '—' }}</template></el-table-column>
          <el-table-column v-if="isOfficer" label="" width="100"><template #default="{ row }">
            <el-button link type="primary" @click="proposeFrom({ service_item_ids: [row.service_item_id],
              title: row.label + ' 流程优化', problem: '摩擦指数 ' + row.score + '；主要因素：' + row.drivers.map((d) => COMPONENT_LABELS[d]).join('、') })">
              提出方案</el-button></template></el-table-column>
        </el-table>
      </section>
      <section v-if="tab === 'departments'" data-testid="panel-departments">
        <div ref="departmentsEl" class="chart" style="height: 340px; width: 100%" data-testid="chart-departments"></div>
        <el-table v-if="data.departments" :data="data.departments.departments" size="small" border>
          <el-table-column prop="label" label="部门" />
          <el-table-column prop="cases" label="件数" width="70" />
          <el-table-column label="按时答复率" width="100"><template #default="{ row }">{{ pct(row.on_time_rate) }}</template></el-table-column>
          <el-table-column label="平均评分" width="90"><template #default="{ row }">{{ row.rating_mean ?? '—' }}</template></el-table-column>
          <el-table-column label="满意占比" width="90"><template #default="{ row }">{{ pct(row.satisfied_share) }}</template></el-table-column>
          <el-table-column label="整改（发起/办结）" width="140"><template #default="{ row }">{{ row.rectifications_opened }} / {{ row.rectifications_closed }}</template></el-table-column>
          <el-table-column label="回访完成率" width="100"><template #default="{ row }">{{ pct(row.callback_rate) }}</template></el-table-column>
        </el-table>
      </section>
      <section v-if="tab === 'reach'" data-testid="panel-reach">
        <el-alert v-if="data.reach" type="info" :closable="false" :title="data.reach.note" show-icon />
        <div ref="reachEl" class="chart" style="height: 340px; width: 100%" data-testid="chart-reach"></div>
        <el-row :gutter="12" v-if="data.reach">
          <el-col :span="12" v-for="[title, rows] in [['按规模', data.reach.by_size_class], ['按行业', data.reach.by_industry_group]]" :key="title">
            <el-table :data="rows" size="small" border>
              <el-table-column prop="label" :label="title" />
              <el-table-column prop="matched" label="匹配" width="70" />
              <el-table-column label="阅读率" width="80"><template #default="{ row }">{{ pct(row.read_rate) }}</template></el-table-column>
              <el-table-column prop="consented" label="确认" width="70" />
              <el-table-column prop="followups" label="追问" width="70" />
            </el-table>
          </el-col>
        </el-row>
      </section>
      <section v-if="tab === 'bundles'" data-testid="panel-bundles">
        <el-alert v-if="data.bundles" type="info" :closable="false" :title="data.bundles.method" show-icon />
        <div ref="bundlesEl" class="chart" style="height: 340px; width: 100%" data-testid="chart-bundles"></div>
        <el-table v-if="data.bundles" :data="data.bundles.bundles" size="small" border data-testid="bundle-table">
          <el-table-column label="事项组合" min-width="240"><template #default="{ row }">{{ row.labels.join(' + ') }}</template></el-table-column>
          <el-table-column label="部门" min-width="160"><template #default="{ row }">{{ row.department_names.join(' + ') }}</template></el-table-column>
          <el-table-column prop="enterprises" label="企业数" width="80" />
          <el-table-column label="支持度" width="80"><template #default="{ row }">{{ pct(row.support) }}</template></el-table-column>
          <el-table-column prop="lift" label="提升度" width="80" />
          <el-table-column v-if="isOfficer" label="" width="100"><template #default="{ row }">
            <el-button link type="primary" @click="proposeFrom({ bundle: row.items, title: row.labels.join(' + ') + ' 一口受理',
              problem: row.enterprises + ' 家企业 30 天内先后办理，提升度 ' + row.lift })">提出方案</el-button></template></el-table-column>
        </el-table>
      </section>
    </div>
    <el-dialog v-model="adopt.open" title="加入主题目录" width="460px">
      <el-form label-width="80px">
        <el-form-item label="主题编码"><el-input v-model="adopt.code" placeholder="小写字母，如 live_commerce" data-testid="adopt-code" /></el-form-item>
        <el-form-item label="主题名称"><el-input v-model="adopt.name" maxlength="32" /></el-form-item>
        <el-form-item label="关键词"><el-select v-model="adopt.keywords" multiple filterable allow-create style="width: 100%" /></el-form-item>
      </el-form>
      <template #footer>
        <el-button @click="adopt.open = false">取消</el-button>
        <el-button type="primary" :loading="adopt.saving" @click="saveAdopt" data-testid="adopt-save">加入</el-button>
      </template>
    </el-dialog>
  </div>`,
};
