// What became of a published policy's push (推送效果): per WeChat channel, how many
// deliveries are queued, sent, skipped, refused or failed, and how many recipients
// read it. While anything is still on its way the figures refresh by themselves.

import { toastError } from '../api.js';
import { CHANNELS, DELIVERY_PENDING, DELIVERY_STATUSES } from '../labels.js';
import { policyApi } from './policy-api.js';

export const REFRESH_MS = 3000;

function pendingOf(figures) {
  if (!figures || !figures.channels) return 0;
  let n = 0;
  for (const counts of Object.values(figures.channels)) {
    for (const s of DELIVERY_PENDING) n += counts[s] || 0;
  }
  return n;
}

export default {
  name: 'PolicyCampaign',
  props: { policyId: { type: Number, required: true } },
  setup(props) {
    const figures = Vue.ref(null);
    const loading = Vue.ref(false);
    const missing = Vue.ref('');
    const updatedAt = Vue.ref('');
    const chartEl = Vue.ref(null);
    // Not reactive: a Vue proxy around an ECharts instance slows it down badly.
    let chart = null;
    let timer = null;
    let unmounted = false;

    const pending = Vue.computed(() => pendingOf(figures.value));
    const channelRows = Vue.computed(() => {
      const f = figures.value;
      if (!f || !f.channels) return [];
      const known = CHANNELS.map((c) => c.value);
      const codes = [...known.filter((c) => c in f.channels), ...Object.keys(f.channels).filter((c) => !known.includes(c))];
      return codes.map((code) => {
        const counts = f.channels[code] || {};
        const total = DELIVERY_STATUSES.reduce((n, s) => n + (counts[s.value] || 0), 0);
        return { code, label: (CHANNELS.find((c) => c.value === code) || { label: code }).label, counts, total };
      });
    });
    const totals = Vue.computed(() => {
      const out = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s.value, 0]));
      for (const row of channelRows.value) {
        for (const s of DELIVERY_STATUSES) out[s.value] += row.counts[s.value] || 0;
      }
      return out;
    });

    function draw() {
      if (!chartEl.value || !figures.value) return;
      if (!chart) chart = echarts.init(chartEl.value);
      const rows = channelRows.value;
      const f = figures.value;
      // One stacked bar per channel (statuses add up to that channel's deliveries),
      // plus a bar for the in-app inbox showing how many recipients opened it.
      const categories = [...rows.map((r) => r.label), '站内消息'];
      const series = DELIVERY_STATUSES.map((s) => ({
        name: s.short || s.label,
        type: 'bar',
        stack: 'deliveries',
        barMaxWidth: 34,
        itemStyle: { color: s.color },
        label: { show: true, position: 'inside', formatter: (p) => (p.value ? p.value : '') },
        data: [...rows.map((r) => r.counts[s.value] || 0), 0],
      }));
      series.push({
        name: '已读', type: 'bar', stack: 'inbox', barMaxWidth: 34, itemStyle: { color: '#5bb98c' },
        label: { show: true, position: 'inside', formatter: (p) => (p.value ? p.value : '') },
        data: [...rows.map(() => 0), f.read || 0],
      });
      series.push({
        name: '未读', type: 'bar', stack: 'inbox', barMaxWidth: 34, itemStyle: { color: '#d0d7e2' },
        label: { show: true, position: 'inside', formatter: (p) => (p.value ? p.value : '') },
        data: [...rows.map(() => 0), Math.max((f.recipients || 0) - (f.read || 0), 0)],
      });
      chart.setOption({
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
                   valueFormatter: (v) => v + ' 条' },
        legend: { bottom: 0, itemWidth: 14 },
        grid: { left: 110, right: 24, top: 16, bottom: 56 },
        xAxis: { type: 'value', minInterval: 1, name: '条' },
        yAxis: { type: 'category', data: categories, inverse: true },
        // Only the bars move on refresh; a full re-animation every 3 s would flicker.
        animationDurationUpdate: 300,
        series,
      }, { notMerge: false });
    }

    function scheduleRefresh() {
      window.clearTimeout(timer);
      if (!unmounted && pending.value > 0) timer = window.setTimeout(load, REFRESH_MS);
    }

    async function load() {
      loading.value = !figures.value;
      try {
        const f = await policyApi.campaign(props.policyId);
        if (unmounted) return;
        figures.value = f;
        missing.value = '';
        updatedAt.value = new Date().toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
        await Vue.nextTick();
        draw();
      } catch (e) {
        if (unmounted) return;
        if (e.status === 404) missing.value = e.message || '该政策尚无推送记录';
        else toastError(e);
      } finally {
        if (!unmounted) loading.value = false;
        scheduleRefresh();
      }
    }

    function resize() {
      if (chart) chart.resize();
    }

    Vue.watch(() => props.policyId, () => {
      figures.value = null;
      load();
    });
    Vue.onMounted(() => {
      window.addEventListener('resize', resize);
      load();
    });
    Vue.onBeforeUnmount(() => {
      unmounted = true;
      window.clearTimeout(timer);
      window.removeEventListener('resize', resize);
      if (chart) chart.dispose();
      chart = null;
    });

    return { figures, loading, missing, updatedAt, chartEl, pending, channelRows, totals, load,
      DELIVERY_STATUSES };
  },
  template: `
  <div class="campaign" data-testid="policy-campaign" v-loading="loading">
    <el-empty v-if="missing" :description="missing" />
    <template v-else-if="figures">
      <div class="campaign-head">
        <el-tag v-if="pending" type="warning" effect="light" data-testid="campaign-live">
          <el-icon class="is-loading"><Loading /></el-icon> 推送进行中，还有 {{ pending }} 条待发送，每 3 秒自动刷新
        </el-tag>
        <el-tag v-else type="success" effect="light" data-testid="campaign-done">推送已完成</el-tag>
        <span class="muted">更新于 {{ updatedAt }}</span>
        <el-button size="small" @click="load" data-testid="campaign-refresh">刷新</el-button>
      </div>
      <el-row :gutter="12" class="campaign-stats">
        <el-col :span="6"><div class="stat-card"><div class="stat-num" data-testid="campaign-matched">{{ figures.matched }}</div><div class="stat-label">符合条件的人员</div></div></el-col>
        <el-col :span="6"><div class="stat-card"><div class="stat-num" data-testid="campaign-recipients">{{ figures.recipients }}</div><div class="stat-label">按接收偏好推送</div></div></el-col>
        <el-col :span="6"><div class="stat-card"><div class="stat-num" data-testid="campaign-delivered">{{ totals.delivered }}</div><div class="stat-label">已送达（条）</div></div></el-col>
        <el-col :span="6"><div class="stat-card"><div class="stat-num" data-testid="campaign-read">{{ figures.read }}</div><div class="stat-label">已读（人）</div></div></el-col>
      </el-row>
      <div ref="chartEl" class="chart campaign-chart" data-testid="campaign-chart"></div>
      <el-table :data="channelRows" border size="small" data-testid="campaign-table" class="campaign-table">
        <el-table-column prop="label" label="渠道" min-width="140" />
        <el-table-column v-for="s in DELIVERY_STATUSES" :key="s.value" :label="s.short || s.label" align="center" min-width="70">
          <template #default="{ row }"><span :data-testid="'campaign-' + row.code + '-' + s.value">{{ row.counts[s.value] || 0 }}</span></template>
        </el-table-column>
        <el-table-column label="合计" prop="total" align="center" width="70" />
      </el-table>
      <p class="muted campaign-note">“已跳过”为用户没有剩余订阅额度的消息，已转入其每日摘要；“被拒收”为微信明确拒绝（如用户拒收），不再重试。
        <template v-if="figures.consultations_14d !== undefined">发布后 14 天内引用本政策的咨询：<b>{{ figures.consultations_14d }}</b> 件。</template></p>
    </template>
  </div>`,
};
