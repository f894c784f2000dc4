// One case (#/cases/{id}): what the enterprise asked, the thread with internal notes
// marked as such, the reply box with canned answers and FAQ, the workflow buttons the
// server offers (`actions`), the classification and its correction, duplicates and
// the history. Every refusal (a stale status, another department) is the server's to
// decide; the page shows its message and reloads.

import { api, session, toastError } from '../api.js';
import { formatTime } from '../labels.js';
import CaseAssignDialog from './cases-assign.js';
import { CASE_OPTIONS, casesApi, itemsOf, optional, statusTag, timeLeft } from './cases-api.js';

const DEPARTMENT_SOURCES = { service_item: '按事项', policy: '按政策', topic: '按主题', '': '未能判断' };
const STAFF_ROLES = ['consultant', 'supervisor'];

/** The canned answers and FAQ entries for the picker, whatever the exact shape. */
function pickerEntries(res) {
  if (!res) return [];
  const out = [];
  const canned = Array.isArray(res) ? res : (res.canned || res.canned_answers || (res.items || []));
  for (const c of canned) out.push({ kind: 'canned', id: c.id, title: c.title || '常用答复', body: c.body || c.answer || '' });
  for (const f of res.faq || res.faqs || []) {
    out.push({ kind: 'faq', id: f.id, title: f.question || '常见问题', body: f.answer || f.body || '' });
  }
  return out.filter((e) => e.body);
}

const Picker = {
  name: 'AnswerPicker',
  props: { modelValue: { type: Boolean, default: false }, caseId: { type: Number, required: true },
    topicCode: { type: String, default: '' } },
  emits: ['update:modelValue', 'pick'],
  setup(props) {
    const q = Vue.ref('');
    const loading = Vue.ref(false);
    const missing = Vue.ref(false);
    const suggested = Vue.ref([]);
    const found = Vue.ref([]);

    Vue.watch(() => props.modelValue, async (open) => {
      if (!open) return;
      q.value = '';
      found.value = [];
      loading.value = true;
      try {
        const res = await optional(() => casesApi.suggestedAnswers(props.caseId));
        if (res.missing) {
          // No suggestions route: fall back to the topic's canned answers.
          const canned = await optional(() => casesApi.cannedAnswers({ topic_code: props.topicCode }));
          missing.value = canned.missing;
          suggested.value = pickerEntries(canned.data);
        } else {
          missing.value = false;
          suggested.value = pickerEntries(res.data);
        }
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    });

    async function search() {
      if (!q.value.trim()) { found.value = []; return; }
      loading.value = true;
      try {
        const res = await optional(() => casesApi.cannedAnswers({ q: q.value.trim() }));
        missing.value = res.missing;
        found.value = pickerEntries(res.data);
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    }

    return { q, loading, missing, suggested, found, search };
  },
  template: `
  <el-drawer :model-value="modelValue" @update:model-value="$emit('update:modelValue', $event)" title="插入常用答复 / 常见问题"
             size="480px" append-to-body>
    <div data-testid="answer-picker" v-loading="loading">
      <el-input v-model="q" placeholder="搜索常用答复" clearable @keyup.enter="search" @clear="search" data-testid="picker-search">
        <template #append><el-button @click="search">搜索</el-button></template>
      </el-input>
      <el-alert v-if="missing" type="info" :closable="false" show-icon style="margin-top:12px"
                title="知识库尚未开通：暂无常用答复和常见问题，可直接输入答复。" data-testid="picker-missing" />
      <template v-for="(list, label) in { '搜索结果': found, '推荐': suggested }" :key="label">
        <div v-if="list.length" style="margin-top:14px">
          <div class="card-title" style="margin-bottom:8px">{{ label }}</div>
          <div v-for="e in list" :key="e.kind + e.id" class="pick-item" @click="$emit('pick', e)" data-testid="picker-item">
            <div class="pick-title">
              <el-tag disable-transitions size="small" :type="e.kind === 'faq' ? 'success' : 'primary'" effect="plain">{{ e.kind === 'faq' ? '常见问题' : '常用答复' }}</el-tag>
              {{ e.title }}
            </div>
            <div class="pick-body">{{ e.body }}</div>
          </div>
        </div>
      </template>
      <el-empty v-if="!loading && !missing && !found.length && !suggested.length" description="没有找到可用的答复" :image-size="80" />
    </div>
  </el-drawer>`,
};

export default {
  name: 'CaseDetail',
  components: { CaseAssignDialog, Picker },
  props: { caseId: { type: Number, required: true } },
  setup(props) {
    const c = Vue.ref(null);
    const loading = Vue.ref(true);
    const failed = Vue.ref('');
    const busy = Vue.ref('');
    const reply = Vue.reactive({ body: '', internal: false });
    const pickerOpen = Vue.ref(false);
    const assignOpen = Vue.ref(false);
    const enterprise = Vue.ref(null);
    const topics = Vue.ref([]);
    const departments = Vue.ref([]);
    const duplicates = Vue.ref([]);
    const classify = Vue.reactive({ open: false, topic_code: '', department_code: '', service_item_id: null, items: [],
      suggestedItem: '' });
    const returning = Vue.reactive({ open: false, reason: '', department_code: '' });
    const merging = Vue.reactive({ open: false, into_id: null, reason: '' });
    const faq = Vue.reactive({ open: false, question: '', answer: '', missing: false });

    const acts = Vue.computed(() => new Set((c.value && c.value.actions) || []));
    const has = (a) => acts.value.has(a);
    const isSupervisor = Vue.computed(() => session.user && session.user.role === 'supervisor');
    const left = Vue.computed(() => (c.value ? timeLeft(c.value) : null));
    const topicName = (code) => (topics.value.find((t) => t.code === code) || {}).name || code;
    const canReply = Vue.computed(() => has('message') || has('note'));
    // A public message on an open case is the answer (assigned, awaiting, reopened → 已答复).
    const sendLabel = Vue.computed(() => {
      if (reply.internal) return '保存内部备注';
      return c.value && ['new', 'assigned', 'awaiting_enterprise', 'reopened'].includes(c.value.status) ? '发送答复' : '发送消息';
    });
    const lastAnswer = Vue.computed(() => {
      const msgs = (c.value && c.value.messages) || [];
      const staff = msgs.filter((m) => !m.internal && STAFF_ROLES.includes(m.author_role));
      return staff.length ? staff[staff.length - 1].body : '';
    });
    // Publishing to the FAQ needs an answer to publish; the server checks again.
    const canPublishFaq = Vue.computed(() => !!lastAnswer.value && c.value &&
      ['answered', 'resolved', 'closed', 'awaiting_enterprise'].includes(c.value.status));
    const suggestion = Vue.computed(() => (c.value && c.value.suggestion) || null);

    async function load() {
      failed.value = '';
      try {
        c.value = await casesApi.get(props.caseId);
        document.title = `#${props.caseId} 咨询办理 - 小微企业服务专区工作人员控制台`;
        loadSide();
      } catch (e) {
        failed.value = e.status === 404 ? '该事项不存在，或不在您的办理范围内（可能已转交其他部门）' : e.message;
        if (e.status !== 404) toastError(e);
      } finally {
        loading.value = false;
      }
    }

    async function loadSide() {
      const id = c.value.enterprise && c.value.enterprise.id;
      if (id && (!enterprise.value || enterprise.value.id !== id)) {
        api('GET', `/api/v1/enterprises/${id}`).then((e) => { enterprise.value = e; }).catch(() => {});
      }
      casesApi.duplicates(props.caseId).then((r) => { duplicates.value = itemsOf(r); }).catch(() => { duplicates.value = []; });
    }

    async function loadReference() {
      try {
        const [t, d] = await Promise.all([casesApi.topics(), casesApi.departments()]);
        topics.value = t.items;
        departments.value = d.items;
      } catch (e) {
        toastError(e);
      }
    }

    /** Run one workflow call; the answer is the case as it now stands. */
    async function run(name, fn, success) {
      busy.value = name;
      try {
        const result = await fn();
        if (success) ElementPlus.ElMessage({ type: 'success', message: success });
        if (result && result.id === props.caseId && result.actions && result.actions.length) c.value = result;
        else await load();
        loadSide();
        return true;
      } catch (e) {
        toastError(e);
        load();
        return false;
      } finally {
        busy.value = '';
      }
    }

    async function send() {
      const body = reply.body.trim();
      if (!body) {
        ElementPlus.ElMessage({ type: 'warning', message: reply.internal ? '请填写备注内容' : '请填写答复内容' });
        return;
      }
      const internal = reply.internal;
      const ok = await run('send', () => casesApi.message(props.caseId, body, internal),
        internal ? '内部备注已保存（企业看不到）' : '已发送，企业将收到微信通知');
      if (ok) {
        reply.body = '';
        reply.internal = false;
      }
    }

    function insert(entry) {
      reply.body = reply.body.trim() ? reply.body.replace(/\s+$/, '') + '\n' + entry.body : entry.body;
      reply.internal = false;
      pickerOpen.value = false;
    }

    async function askText(message, title, confirm, placeholder) {
      try {
        const { value } = await ElementPlus.ElMessageBox.prompt(message, title, {
          confirmButtonText: confirm, cancelButtonText: '取消', inputType: 'textarea', inputPlaceholder: placeholder,
          closeOnClickModal: false, inputValidator: (v) => (v && v.trim().length >= 2 ? true : '请至少填写 2 个字'),
        });
        return value.trim();
      } catch (e) {
        return null;
      }
    }

    async function requestInfo() {
      const text = await askText('企业将在小程序中看到这段说明并补充；办理期限不停止计算。', '请企业补充', '发送', '需要企业补充的材料或说明');
      if (text !== null) run('request_info', () => casesApi.requestInfo(props.caseId, text), '已请企业补充');
    }

    async function closeCase() {
      try {
        await ElementPlus.ElMessageBox.confirm('办结后企业仍可评价；如问题未解决，企业可以重新打开。确定办结吗？', '办结',
          { type: 'warning', confirmButtonText: '办结', cancelButtonText: '取消' });
      } catch (e) {
        return;
      }
      run('close', () => casesApi.close(props.caseId), '已办结');
    }

    async function submitReturn() {
      if (returning.reason.trim().length < 2) {
        ElementPlus.ElMessage({ type: 'warning', message: '请写明退单或转交原因（至少 2 个字）' });
        return;
      }
      const to = returning.department_code;
      if (to && to !== (c.value.department && c.value.department.code)) {
        // Handed to another department: the case leaves this desk, so go back to the queue.
        busy.value = 'return';
        try {
          await casesApi.returnCase(props.caseId, returning.reason.trim(), to);
          returning.open = false;
          ElementPlus.ElMessage({ type: 'success', message: '已转交其他部门' });
          back();
        } catch (e) {
          toastError(e);
        } finally {
          busy.value = '';
        }
        return;
      }
      const ok = await run('return', () => casesApi.returnCase(props.caseId, returning.reason.trim(), null),
        '已退回本部门派单队列');
      if (ok) returning.open = false;
    }

    function openClassify() {
      const cur = c.value;
      Object.assign(classify, { open: true, topic_code: cur.topic ? cur.topic.code : '',
        department_code: cur.department ? cur.department.code : '', service_item_id: cur.service_item ? cur.service_item.id : null,
        items: cur.service_item ? [cur.service_item] : [], suggestedItem: '' });
      const s = cur.suggestion;
      if (s && s.service_item_id) {
        api('GET', `/api/v1/service-items/${s.service_item_id}`).then((it) => { classify.suggestedItem = it.name; }).catch(() => {});
      }
    }

    async function findItems(q) {
      if (!q || !q.trim()) return;
      try {
        classify.items = itemsOf(await casesApi.serviceItems(q.trim()));
      } catch (e) {
        toastError(e);
      }
    }

    async function submitClassify() {
      const cur = c.value;
      const body = {};
      if (classify.topic_code && classify.topic_code !== (cur.topic && cur.topic.code)) body.topic_code = classify.topic_code;
      if (classify.service_item_id && classify.service_item_id !== (cur.service_item && cur.service_item.id)) {
        body.service_item_id = classify.service_item_id;
      }
      if (classify.department_code && classify.department_code !== (cur.department && cur.department.code)) {
        body.department_code = classify.department_code;
      }
      if (!Object.keys(body).length) {
        ElementPlus.ElMessage({ type: 'warning', message: '与当前分类相同，无需更正' });
        return;
      }
      const ok = await run('correct', () => casesApi.classify(props.caseId, body),
        body.department_code ? '已更正，事项已转入新部门的派单队列' : '分类已更正');
      if (ok) classify.open = false;
    }

    async function submitMerge() {
      if (!merging.into_id || merging.reason.trim().length < 2) {
        ElementPlus.ElMessage({ type: 'warning', message: '请选择合并到的事项并写明原因' });
        return;
      }
      const ok = await run('merge', () => casesApi.merge(props.caseId, merging.into_id, merging.reason.trim()),
        `已并入 #${merging.into_id} 办理`);
      if (ok) merging.open = false;
    }

    function openFaq() {
      Object.assign(faq, { open: true, question: c.value.content.slice(0, 500), answer: lastAnswer.value, missing: false });
    }

    async function submitFaq() {
      if (faq.question.trim().length < 5 || faq.answer.trim().length < 5) {
        ElementPlus.ElMessage({ type: 'warning', message: '问题和答案都请至少填写 5 个字' });
        return;
      }
      busy.value = 'faq';
      try {
        await casesApi.publishFaq(props.caseId, faq.question.trim(), faq.answer.trim());
        ElementPlus.ElMessage({ type: 'success', message: '已提交发布为常见问题（已去除企业名称、电话等信息）' });
        faq.open = false;
      } catch (e) {
        if (e.status === 404 || e.status === 405) faq.missing = true;
        else toastError(e);
      } finally {
        busy.value = '';
      }
    }

    async function release() {
      run('release', () => casesApi.release(props.caseId), '已放行并派单');
    }

    async function rejectContent() {
      const reason = await askText('该事项将被撤回，企业会收到原因。', '审核不通过', '不通过', '不通过的原因（企业可见）');
      if (reason !== null) run('reject', () => casesApi.rejectContent(props.caseId, reason), '已审核不通过');
    }

    function back() {
      window.location.hash = '#/cases';
    }

    function eventDetail(e) {
      const d = e.detail || {};
      const parts = [];
      if (d.reason) parts.push('原因：' + d.reason);
      if (d.to_department || d.department) parts.push('转交：' + (d.to_department || d.department));
      if (d.assignee_name) parts.push('承办：' + d.assignee_name);
      if (d.into_id) parts.push('并入 #' + d.into_id);
      if (d.merged_from) parts.push('并入了 #' + d.merged_from);
      if (d.after && d.after.topic_code) parts.push('主题改为：' + topicName(d.after.topic_code));
      return parts.join('；');
    }

    Vue.onMounted(() => {
      load();
      loadReference();
    });

    return { c, loading, failed, busy, reply, pickerOpen, assignOpen, enterprise, topics, departments, duplicates, classify,
      returning, merging, faq, has, isSupervisor, left, canReply, sendLabel, canPublishFaq, suggestion, topicName,
      load, send, insert, requestInfo, closeCase, submitReturn, openClassify, findItems, submitClassify, submitMerge,
      openFaq, submitFaq, release, rejectContent, back, eventDetail, run, formatTime, statusTag, casesApi, CASE_OPTIONS,
      DEPARTMENT_SOURCES, STAFF_ROLES };
  },
  template: `
  <div data-testid="case-page">
    <div class="page-head">
      <div>
        <el-link :underline="false" @click="back" data-testid="case-back">‹ 返回工作台</el-link>
        <h2 class="page-title" v-if="c">
          <span class="mono" style="font-size:18px">#{{ c.id }}</span>　{{ c.kind_label }}
          <el-tag disable-transitions :type="statusTag(c.status)" data-testid="case-status">{{ c.status_label }}</el-tag>
          <el-tag disable-transitions :type="left.type" effect="dark" class="term-tag" data-testid="case-time-left">{{ left.text }}</el-tag>
          <el-tag disable-transitions v-if="c.moderation === 'held' || c.moderation === 'pending'" type="danger" effect="plain">
            {{ c.moderation === 'held' ? '内容审核中' : '待内容检查' }}</el-tag>
        </h2>
      </div>
      <div class="page-actions">
        <el-button @click="load">刷新</el-button>
      </div>
    </div>

    <el-skeleton v-if="loading" :rows="10" animated />
    <el-result v-else-if="failed" icon="warning" title="无法打开该事项" :sub-title="failed" data-testid="case-failed">
      <template #extra><el-button type="primary" @click="back">返回工作台</el-button></template>
    </el-result>
    <div v-else-if="c" class="case-grid">
      <div>
        <el-card shadow="never" class="filter-card">
          <template #header><span class="card-title">{{ c.kind_label }}内容</span></template>
          <div class="case-content" data-testid="case-content">{{ c.content }}</div>
          <div v-if="c.element" class="muted" style="margin-top:8px">针对事项要素：{{ c.element_label }}<span v-if="c.element_detail">（{{ c.element_detail }}）</span></div>
          <div v-if="c.policy" class="muted" style="margin-top:4px">相关政策：{{ c.policy.name }}</div>
        </el-card>

        <el-card shadow="never" class="filter-card">
          <template #header><span class="card-title">办理对话</span></template>
          <div class="case-thread" data-testid="case-thread">
            <div v-if="!c.messages.length" class="muted">尚无答复</div>
            <div v-for="m in c.messages" :key="m.id" data-testid="case-message"
                 :class="['case-msg', m.internal ? 'internal' : (STAFF_ROLES.includes(m.author_role) ? 'from-staff' : 'from-enterprise')]">
              <div class="case-msg-head">
                <el-tag disable-transitions v-if="m.internal" size="small" type="warning" effect="dark" data-testid="msg-internal">内部备注</el-tag>
                <el-tag disable-transitions v-else-if="STAFF_ROLES.includes(m.author_role)" size="small">答复</el-tag>
                <el-tag disable-transitions v-else size="small" type="info">企业</el-tag>
                <b>{{ m.author_name }}</b><span>{{ formatTime(m.created_at) }}</span>
                <span v-if="m.internal">（仅工作人员可见）</span>
              </div>
              <div class="case-msg-body" data-testid="case-message-body">{{ m.body }}</div>
            </div>
          </div>

          <div v-if="canReply" class="case-reply">
            <el-input v-model="reply.body" type="textarea" :rows="5" :maxlength="CASE_OPTIONS.max_chars" show-word-limit
                      :placeholder="reply.internal ? '内部备注：仅工作人员可见，企业永远看不到' : '答复企业（发送后企业会收到微信通知）'"
                      data-testid="reply-body" />
            <div class="case-reply-bar">
              <el-button @click="pickerOpen = true" data-testid="reply-pick">插入常用答复 / 常见问题</el-button>
              <el-switch v-model="reply.internal" active-text="内部备注" :disabled="!has('message')" data-testid="reply-internal" />
              <span style="flex:1"></span>
              <el-button :type="reply.internal ? 'warning' : 'primary'" :loading="busy === 'send'" @click="send"
                         data-testid="reply-send">{{ sendLabel }}</el-button>
            </div>
          </div>
        </el-card>
      </div>

      <div class="case-side">
        <el-card shadow="never">
          <template #header><span class="card-title">办理操作</span></template>
          <div class="case-actions" data-testid="case-actions">
            <el-button v-if="has('claim')" type="success" :loading="busy === 'claim'"
                       @click="run('claim', () => casesApi.claim(c.id), '已认领')" data-testid="act-claim">认领</el-button>
            <el-button v-if="has('assign') || has('reassign')" type="primary" @click="assignOpen = true"
                       data-testid="act-assign">{{ has('reassign') ? '改派' : '派单' }}</el-button>
            <el-button v-if="has('request_info')" :loading="busy === 'request_info'" @click="requestInfo"
                       data-testid="act-request-info">请企业补充</el-button>
            <el-button v-if="has('return')" @click="returning.open = true; returning.reason = ''; returning.department_code = ''"
                       data-testid="act-return">退单 / 转交</el-button>
            <el-button v-if="has('close')" type="success" plain :loading="busy === 'close'" @click="closeCase"
                       data-testid="act-close">办结</el-button>
            <el-button v-if="canPublishFaq" @click="openFaq" data-testid="act-faq">发布为常见问题</el-button>
            <el-button v-if="has('release')" type="success" :loading="busy === 'release'" @click="release"
                       data-testid="act-release">审核放行</el-button>
            <el-button v-if="has('reject_content')" type="danger" plain @click="rejectContent"
                       data-testid="act-reject">审核不通过</el-button>
            <span v-if="!c.actions.filter((a) => !['message', 'note', 'correct'].includes(a)).length && !canPublishFaq"
                  class="muted">当前没有可进行的办理操作</span>
          </div>
        </el-card>

        <el-card shadow="never">
          <template #header>
            <span class="card-title">基本信息</span>
            <el-button v-if="has('correct')" link type="primary" style="float:right" @click="openClassify"
                       data-testid="act-correct">更正分类</el-button>
          </template>
          <el-descriptions :column="1" size="small" border class="case-meta" data-testid="case-meta">
            <el-descriptions-item label="企业">
              <span data-testid="case-enterprise">{{ c.enterprise ? c.enterprise.name : '—' }}</span>
              <div v-if="enterprise" class="muted">{{ enterprise.credit_code }}　{{ enterprise.contact_phone }}</div>
            </el-descriptions-item>
            <el-descriptions-item label="来源">{{ CASE_OPTIONS.channels[c.channel] || c.channel }}
              <span v-if="c.contact_name" class="muted">　来电人 {{ c.contact_name }}</span>
              <span v-if="c.recorded_by" class="muted">　{{ c.recorded_by }} 登记</span></el-descriptions-item>
            <el-descriptions-item label="受理时间">{{ formatTime(c.accepted_at) }}</el-descriptions-item>
            <el-descriptions-item label="办理期限">
              <span data-testid="case-due">{{ formatTime(c.due_at) }}</span>
              <span v-if="c.due_provisional" class="muted">（节假日安排未公布，暂按周末推算）</span>
            </el-descriptions-item>
            <el-descriptions-item label="主题"><span data-testid="case-topic">{{ c.topic ? c.topic.name : '未分类' }}</span>
              <el-tag disable-transitions v-if="c.corrected" size="small" type="info" class="term-tag">已更正</el-tag></el-descriptions-item>
            <el-descriptions-item label="事项">{{ c.service_item ? c.service_item.name : '—' }}</el-descriptions-item>
            <el-descriptions-item label="部门"><span data-testid="case-department">{{ c.department ? c.department.name : '未分派部门' }}</span></el-descriptions-item>
            <el-descriptions-item label="承办人"><span data-testid="case-assignee">{{ c.assignee ? c.assignee.name : '待派单' }}</span></el-descriptions-item>
            <el-descriptions-item v-if="c.merged_into_id" label="合并到">
              <el-link type="primary" :href="'#/cases/' + c.merged_into_id">#{{ c.merged_into_id }}</el-link></el-descriptions-item>
            <el-descriptions-item v-if="c.rating" label="企业评价">
              <el-rate :model-value="c.rating.score" disabled /> {{ c.rating.label }}
              <div v-if="c.rating.comment" class="muted">{{ c.rating.comment }}</div>
            </el-descriptions-item>
          </el-descriptions>
        </el-card>

        <el-card v-if="duplicates.length" shadow="never" data-testid="case-duplicates">
          <template #header><span class="card-title">并单建议（同一企业的相似事项）</span></template>
          <div v-for="d in duplicates" :key="d.id" style="margin-bottom:8px">
            <el-link type="primary" :href="'#/cases/' + d.id">#{{ d.id }}</el-link>
            <el-tag disable-transitions size="small" :type="statusTag(d.status)" class="term-tag" style="margin-left:6px">{{ d.status_label }}</el-tag>
            <span class="muted">相似度 {{ Math.round(d.similarity * 100) }}%</span>
            <div class="muted">{{ d.title }}</div>
            <el-button v-if="has('merge')" size="small" link type="warning" data-testid="act-merge"
                       @click="merging.open = true; merging.into_id = d.id; merging.reason = ''">并入该事项</el-button>
          </div>
        </el-card>

        <el-card shadow="never">
          <template #header><span class="card-title">办理记录</span></template>
          <el-timeline data-testid="case-history" style="padding-left:4px">
            <el-timeline-item v-for="(e, i) in (c.events || [])" :key="i" :timestamp="formatTime(e.at)" placement="top"
                              :type="['escalate', 'urge'].includes(e.action) ? 'danger' : (e.action === 'remind' ? 'warning' : 'primary')">
              <b data-testid="history-action">{{ e.action_label }}</b>
              <span class="muted">　{{ e.actor_name || '系统' }}</span>
              <div v-if="eventDetail(e)" class="muted">{{ eventDetail(e) }}</div>
            </el-timeline-item>
          </el-timeline>
        </el-card>
      </div>
    </div>

    <picker v-if="c" v-model="pickerOpen" :case-id="caseId" :topic-code="c.topic ? c.topic.code : ''" @pick="insert" />
    <case-assign-dialog v-if="c" v-model="assignOpen" :target="c" @assigned="load" />

    <el-dialog v-model="returning.open" title="退单 / 转交" width="520px" append-to-body :close-on-click-modal="false">
      <div data-testid="return-dialog">
        <el-alert type="info" :closable="false" show-icon class="dialog-alert"
                  title="不选部门则退回本部门派单队列；选择其他部门则转交该部门。办理期限仍从受理时起算。" />
        <el-form label-width="80px">
          <el-form-item label="转交部门">
            <el-select v-model="returning.department_code" clearable filterable placeholder="退回本部门派单队列" style="width:100%"
                       data-testid="return-department">
              <el-option v-for="d in departments" :key="d.code" :value="d.code" :label="d.name" />
            </el-select>
          </el-form-item>
          <el-form-item label="原因" required>
            <el-input v-model="returning.reason" type="textarea" :rows="3" maxlength="500" placeholder="例如：不属于本部门职责"
                      data-testid="return-reason" />
          </el-form-item>
        </el-form>
      </div>
      <template #footer>
        <el-button @click="returning.open = false">取消</el-button>
        <el-button type="primary" :loading="busy === 'return'" @click="submitReturn" data-testid="return-submit">确定</el-button>
      </template>
    </el-dialog>

    <el-dialog v-model="classify.open" title="更正分类" width="560px" append-to-body :close-on-click-modal="false">
      <div data-testid="classify-dialog">
        <el-alert v-if="suggestion" type="info" :closable="false" class="dialog-alert" data-testid="classify-suggestion">
          <template #title>系统建议</template>
          <div>主题：{{ suggestion.topic_code ? topicName(suggestion.topic_code) : '未能判断' }}
            <span v-if="suggestion.topic_hits && suggestion.topic_hits.length" class="muted">（命中：{{ suggestion.topic_hits.join('、') }}）</span></div>
          <div>事项：{{ classify.suggestedItem || (suggestion.service_item_id ? '#' + suggestion.service_item_id : '未能判断') }}
            <span v-if="suggestion.service_item_id" class="muted">（匹配度 {{ suggestion.item_score }}）</span></div>
          <div>部门来源：{{ DEPARTMENT_SOURCES[suggestion.department_source || ''] }}</div>
        </el-alert>
        <el-form label-width="80px">
          <el-form-item label="主题">
            <el-select v-model="classify.topic_code" filterable style="width:100%" data-testid="classify-topic">
              <el-option v-for="t in topics" :key="t.code" :value="t.code" :label="t.name" />
            </el-select>
          </el-form-item>
          <el-form-item label="事项">
            <el-select v-model="classify.service_item_id" filterable remote :remote-method="findItems" clearable
                       placeholder="输入关键字查找" style="width:100%" data-testid="classify-item">
              <el-option v-for="it in classify.items" :key="it.id" :value="it.id" :label="it.name" />
            </el-select>
          </el-form-item>
          <el-form-item label="部门">
            <el-select v-model="classify.department_code" filterable style="width:100%" data-testid="classify-department">
              <el-option v-for="d in departments" :key="d.code" :value="d.code" :label="d.name" />
            </el-select>
            <div class="muted">更正部门后，事项转入该部门的派单队列。</div>
          </el-form-item>
        </el-form>
      </div>
      <template #footer>
        <el-button @click="classify.open = false">取消</el-button>
        <el-button type="primary" :loading="busy === 'correct'" @click="submitClassify" data-testid="classify-submit">保存更正</el-button>
      </template>
    </el-dialog>

    <el-dialog v-model="merging.open" title="并单" width="480px" append-to-body :close-on-click-modal="false">
      <div data-testid="merge-dialog">
        <p>将本事项 #{{ caseId }} 并入 #{{ merging.into_id }} 一并办理。本事项保留并计入需求统计，企业会收到通知。</p>
        <el-input v-model="merging.reason" type="textarea" :rows="3" maxlength="500" placeholder="合并原因（必填）"
                  data-testid="merge-reason" />
      </div>
      <template #footer>
        <el-button @click="merging.open = false">取消</el-button>
        <el-button type="warning" :loading="busy === 'merge'" @click="submitMerge" data-testid="merge-submit">确定并单</el-button>
      </template>
    </el-dialog>

    <el-dialog v-model="faq.open" title="发布为常见问题" width="620px" append-to-body :close-on-click-modal="false">
      <div data-testid="faq-dialog">
        <el-alert v-if="faq.missing" type="warning" :closable="false" show-icon class="dialog-alert"
                  title="知识库尚未开通，暂不能发布常见问题。" />
        <el-alert v-else type="info" :closable="false" show-icon class="dialog-alert"
                  title="发布前系统会去除企业名称、人名、电话、信用代码等信息，并再次进行内容安全检查。" />
        <el-form label-width="60px">
          <el-form-item label="问题"><el-input v-model="faq.question" type="textarea" :rows="3" maxlength="500" data-testid="faq-question" /></el-form-item>
          <el-form-item label="答案"><el-input v-model="faq.answer" type="textarea" :rows="6" maxlength="5000" data-testid="faq-answer" /></el-form-item>
        </el-form>
      </div>
      <template #footer>
        <el-button @click="faq.open = false">取消</el-button>
        <el-button type="primary" :disabled="faq.missing" :loading="busy === 'faq'" @click="submitFaq" data-testid="faq-submit">发布</el-button>
      </template>
    </el-dialog>
  </div>`,
};
