import { api, fetchAllPages, session, toastError } from '../api.js';
import { ROLE_LABELS, STAGES } from '../labels.js';

// Government palette: blues first, so the charts sit well under the blue header.
const PALETTE = ['#1f6fb2', '#3a8ee6', '#67b7f7', '#f2a93b', '#5bb98c', '#e26d5c', '#8c7ae6', '#a0a9b8'];

export default {
  name: 'HomePage',
  setup() {
    const loading = Vue.ref(true);
    const failed = Vue.ref('');
    const stats = Vue.reactive({ total: 0, departments: 0, online: 0, immediate: 0 });
    const deptEl = Vue.ref(null);
    const stageEl = Vue.ref(null);
    const onlineEl = Vue.ref(null);
    // Chart instances are not reactive state: Vue proxies would slow ECharts down.
    let charts = [];
    // Staff often click on before the statistics arrive; a late answer must not try
    // to draw into containers that no longer exist.
    let unmounted = false;

    const onlineRate = Vue.computed(() =>
      stats.total ? Math.round((stats.online / stats.total) * 1000) / 10 : 0);

    function disposeCharts() {
      charts.forEach((c) => c.dispose());
      charts = [];
    }

    function resize() {
      charts.forEach((c) => c.resize());
    }

    function draw(departments, items) {
      disposeCharts();
      const perDept = new Map(departments.map((d) => [d.code, { name: d.short_name || d.name, count: 0 }]));
      const perStage = Object.fromEntries(STAGES.map((s) => [s.value, 0]));
      for (const it of items) {
        const code = it.department.code;
        if (!perDept.has(code)) perDept.set(code, { name: it.department.short_name || it.department.name, count: 0 });
        perDept.get(code).count += 1;
        if (it.stage in perStage) perStage[it.stage] += 1;
      }
      // Departments with most items first: the bar chart is read as a ranking.
      const rows = [...perDept.values()].sort((a, b) => b.count - a.count);

      const dept = echarts.init(deptEl.value);
      dept.setOption({
        color: [PALETTE[0]],
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: (p) => `${p[0].name}：${p[0].value} 项` },
        grid: { left: 40, right: 16, top: 24, bottom: 64 },
        xAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: { interval: 0, rotate: rows.length > 14 ? 30 : 0 } },
        yAxis: { type: 'value', minInterval: 1, name: '事项数' },
        series: [{ type: 'bar', data: rows.map((r) => r.count), barMaxWidth: 36, label: { show: true, position: 'top' } }],
      });

      const stage = echarts.init(stageEl.value);
      stage.setOption({
        color: PALETTE,
        tooltip: { trigger: 'item', formatter: '{b}：{c} 项（{d}%）' },
        legend: { bottom: 0 },
        series: [{
          type: 'pie', radius: ['45%', '70%'], center: ['50%', '45%'],
          label: { formatter: '{b}\n{c} 项' },
          data: STAGES.map((s) => ({ name: s.label, value: perStage[s.value] })),
        }],
      });

      const online = echarts.init(onlineEl.value);
      online.setOption({
        color: ['#1f6fb2', '#d0d7e2'],
        tooltip: { trigger: 'item', formatter: '{b}：{c} 项（{d}%）' },
        legend: { bottom: 0 },
        title: { text: onlineRate.value + '%', subtext: '可网办', left: 'center', top: '34%',
                 textStyle: { fontSize: 22, color: '#1f6fb2' }, subtextStyle: { fontSize: 13 } },
        series: [{
          type: 'pie', radius: ['50%', '70%'], center: ['50%', '45%'], label: { show: false },
          data: [{ name: '可网办', value: stats.online }, { name: '仅线下办理', value: stats.total - stats.online }],
        }],
      });
      charts = [dept, stage, online];
    }

    async function load() {
      loading.value = true;
      failed.value = '';
      try {
        const [deps, all] = await Promise.all([
          api('GET', '/api/v1/departments'),
          fetchAllPages('/api/v1/service-items'),
        ]);
        const items = all.items;
        stats.total = all.total;
        stats.online = items.filter((i) => i.online_available).length;
        stats.immediate = items.filter((i) => i.committed_days === 0).length;
        stats.departments = new Set(items.map((i) => i.department.code)).size;
        if (unmounted) return;
        loading.value = false;
        // Containers exist only once the loading state is gone.
        await Vue.nextTick();
        if (unmounted || !deptEl.value) return;
        draw(deps.items, items);
      } catch (e) {
        if (unmounted) return;
        failed.value = e.message || '统计数据加载失败';
        toastError(e);
        loading.value = false;
      }
    }

    Vue.onMounted(() => {
      window.addEventListener('resize', resize);
      load();
    });
    Vue.onBeforeUnmount(() => {
      unmounted = true;
      window.removeEventListener('resize', resize);
      disposeCharts();
    });

    const greeting = Vue.computed(() => {
      const u = session.user || {};
      return `${u.display_name || u.username || ''}，您好！当前身份：${ROLE_LABELS[u.role] || u.role_label || ''}`;
    });

    return { loading, failed, stats, onlineRate, deptEl, stageEl, onlineEl, load, greeting };
  },
  template: `
  <div data-testid="home-page">
    <div class="page-head">
      <div>
        <h2 class="page-title">首页</h2>
        <p class="page-sub">{{ greeting }}</p>
      </div>
      <el-button @click="load" :loading="loading" data-testid="home-refresh">刷新统计</el-button>
    </div>
    <el-skeleton v-if="loading" :rows="8" animated />
    <el-result v-else-if="failed" icon="error" title="统计数据加载失败" :sub-title="failed">
      <template #extra><el-button type="primary" @click="load">重试</el-button></template>
    </el-result>
    <template v-else>
      <el-row :gutter="16" class="stat-row">
        <el-col :xs="12" :sm="6"><div class="stat-card" data-testid="stat-total"><div class="stat-num">{{ stats.total }}</div><div class="stat-label">在办事项</div></div></el-col>
        <el-col :xs="12" :sm="6"><div class="stat-card"><div class="stat-num">{{ stats.departments }}</div><div class="stat-label">涉及部门</div></div></el-col>
        <el-col :xs="12" :sm="6"><div class="stat-card" data-testid="stat-online"><div class="stat-num">{{ onlineRate }}%</div><div class="stat-label">可网办率（{{ stats.online }} 项）</div></div></el-col>
        <el-col :xs="12" :sm="6"><div class="stat-card"><div class="stat-num">{{ stats.immediate }}</div><div class="stat-label">即办件</div></div></el-col>
      </el-row>
      <el-row :gutter="16">
        <el-col :span="24">
          <el-card shadow="never" class="chart-card">
            <template #header><span class="card-title">各部门事项数量</span></template>
            <div ref="deptEl" class="chart chart-wide" data-testid="chart-department"></div>
          </el-card>
        </el-col>
      </el-row>
      <el-row :gutter="16">
        <el-col :xs="24" :md="12">
          <el-card shadow="never" class="chart-card">
            <template #header><span class="card-title">按企业生命周期（开办 / 经营 / 变更 / 注销）</span></template>
            <div ref="stageEl" class="chart" data-testid="chart-stage"></div>
          </el-card>
        </el-col>
        <el-col :xs="24" :md="12">
          <el-card shadow="never" class="chart-card">
            <template #header><span class="card-title">可网办事项占比</span></template>
            <div ref="onlineEl" class="chart" data-testid="chart-online"></div>
          </el-card>
        </el-col>
      </el-row>
    </template>
  </div>`,
};
