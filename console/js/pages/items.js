import { ApiError, api, saveBlob, session, toastError, usePager } from '../api.js';
import { can, daysLabel, fieldLabel, STAGES } from '../labels.js';
import ItemEditor from './item-editor.js';

// The import sheet's header row, in the order the backend exports it, so a
// template downloaded here imports without surprises.
const TEMPLATE_HEADERS = ['事项编码', '事项名称', '事项类型', '部门编码', '实施主体', '设定依据', '简介', '关键词',
  '办理要件', '办理流程', '法定时限（工作日）', '承诺时限（工作日）', '收费标准', '可网办', '网办地址', '办理地点',
  '生命周期', '常见问题'];

const ImportDialog = {
  name: 'ImportDialog',
  props: { modelValue: { type: Boolean, default: false } },
  emits: ['update:modelValue', 'imported'],
  setup(props, { emit }) {
    const file = Vue.ref(null);
    const uploading = Vue.ref(false);
    const report = Vue.ref(null);
    const failure = Vue.ref(null);
    const uploadRef = Vue.ref(null);

    Vue.watch(() => props.modelValue, (open) => {
      if (open) reset();
    });

    function reset() {
      file.value = null;
      report.value = null;
      failure.value = null;
      if (uploadRef.value) uploadRef.value.clearFiles();
    }

    function onChange(uploadFile) {
      file.value = uploadFile.raw;
      report.value = null;
      failure.value = null;
    }

    function onExceed(files) {
      // limit=1: a new pick replaces the old one instead of being refused.
      uploadRef.value.clearFiles();
      const raw = files[0];
      uploadRef.value.handleStart(raw);
      file.value = raw;
    }

    async function submit() {
      if (!file.value) {
        ElementPlus.ElMessage({ type: 'warning', message: '请先选择要导入的 CSV 或 XLSX 文件' });
        return;
      }
      uploading.value = true;
      report.value = null;
      failure.value = null;
      try {
        const form = new FormData();
        form.append('file', file.value, file.value.name);
        report.value = await api('POST', '/api/v1/service-items/import', { form });
        if (report.value.created || report.value.updated) emit('imported', report.value);
      } catch (e) {
        // A 422 here means the whole file was refused (wrong format, missing columns).
        if (e instanceof ApiError && e.status !== 401) {
          failure.value = { message: e.message, details: e.details.filter((d) => d.message !== e.message) };
        }
        toastError(e);
      } finally {
        uploading.value = false;
      }
    }

    function downloadTemplate() {
      // BOM so that Excel opens the UTF-8 CSV with the Chinese headers intact.
      const blob = new Blob(['\ufeff' + TEMPLATE_HEADERS.join(',') + '\r\n'], { type: 'text/csv;charset=utf-8' });
      saveBlob(blob, '事项导入模板.csv');
    }

    function reasons(row) {
      return (row.errors || []).map((e) => ({ label: fieldLabel(e.field), message: e.message }));
    }

    return { file, uploading, report, failure, uploadRef, onChange, onExceed, submit, downloadTemplate, reasons };
  },
  template: `
  <el-dialog :model-value="modelValue" @update:model-value="$emit('update:modelValue', $event)" title="批量导入事项"
             width="820px" append-to-body :close-on-click-modal="false">
    <div data-testid="import-dialog">
      <el-alert type="info" :closable="false" show-icon class="dialog-alert">
        <template #title>
          支持 CSV（UTF-8）或 XLSX，表头与“导出 XLSX”一致；已存在的事项编码将被更新。
          <el-button link type="primary" @click="downloadTemplate" data-testid="import-template">下载空白模板</el-button>
        </template>
        <div class="import-hint">办理要件每行一项：名称|必需/可选|原件/复印件/电子件|份数|备注；办理流程每行“步骤：说明”；常见问题每行“问题|回答”；生命周期填 开办/经营/变更/注销。</div>
      </el-alert>
      <el-upload ref="uploadRef" drag :auto-upload="false" :limit="1" accept=".csv,.xlsx"
                 :on-change="onChange" :on-exceed="onExceed" :show-file-list="true" data-testid="import-upload">
        <div class="el-upload__text">将文件拖到此处，或 <em>点击选择文件</em></div>
        <template #tip><div class="el-upload__tip">单个文件不超过 10 MB，最多 5000 行</div></template>
      </el-upload>

      <el-alert v-if="failure" type="error" :title="'导入失败，未写入任何数据：' + failure.message" show-icon
                :closable="false" class="dialog-alert" data-testid="import-failure">
        <div v-for="(d, i) in failure.details" :key="i">{{ d.message }}</div>
      </el-alert>

      <div v-if="report" class="import-result" data-testid="import-result">
        <div class="import-summary">
          <span>共 <b data-testid="import-total">{{ report.total_rows }}</b> 行</span>
          <el-tag type="success" effect="plain" size="large">新增 <b data-testid="import-created">{{ report.created }}</b></el-tag>
          <el-tag type="primary" effect="plain" size="large">更新 <b data-testid="import-updated">{{ report.updated }}</b></el-tag>
          <el-tag :type="report.rejected.length ? 'danger' : 'info'" effect="plain" size="large">拒绝 <b data-testid="import-rejected-count">{{ report.rejected.length }}</b></el-tag>
        </div>
        <template v-if="report.rejected.length">
          <h4 class="import-subtitle">被拒绝的行（请修改后重新导入这些行）</h4>
          <el-table :data="report.rejected" border size="small" max-height="300" data-testid="import-rejected-table">
            <el-table-column prop="row" label="行号" width="70" align="center" />
            <el-table-column prop="code" label="事项编码" width="170">
              <template #default="{ row }">{{ row.code || '（空）' }}</template>
            </el-table-column>
            <el-table-column label="原因">
              <template #default="{ row }">
                <div v-for="(r, i) in reasons(row)" :key="i" class="reject-reason">
                  <span class="reject-field">{{ r.label }}</span>{{ r.message }}
                </div>
              </template>
            </el-table-column>
          </el-table>
        </template>
        <el-alert v-else type="success" title="全部行均已导入" :closable="false" show-icon />
      </div>
    </div>
    <template #footer>
      <el-button @click="$emit('update:modelValue', false)">关闭</el-button>
      <el-button type="primary" :loading="uploading" @click="submit" data-testid="import-submit">开始导入</el-button>
    </template>
  </el-dialog>`,
};

export default {
  name: 'ItemsPage',
  components: { ItemEditor, ImportDialog },
  setup() {
    const query = Vue.reactive({ q: '', department: '', stage: '' });
    const { page, pageSize, onPage, onSize, first } = usePager(() => load(), 20);
    const rows = Vue.ref([]);
    const total = Vue.ref(0);
    const queryTerms = Vue.ref([]);
    const loading = Vue.ref(false);
    const departments = Vue.ref([]);
    const editor = Vue.reactive({ open: false, id: null, readonly: false });
    const importOpen = Vue.ref(false);
    const exporting = Vue.ref(false);
    // The search that produced the rows on screen, so paging keeps the same filter
    // even if someone has typed into the box without pressing 查询 yet.
    let applied = { q: '', department: '', stage: '' };

    const canEdit = Vue.computed(() => can(session.user, 'items.edit'));
    const canExport = Vue.computed(() => can(session.user, 'items.export'));

    async function loadDepartments() {
      try {
        departments.value = (await api('GET', '/api/v1/departments')).items;
      } catch (e) {
        toastError(e);
      }
    }

    async function load() {
      loading.value = true;
      try {
        const res = await api('GET', '/api/v1/service-items', {
          query: { ...applied, page: page.value, page_size: pageSize.value },
        });
        rows.value = res.items;
        total.value = res.total;
        queryTerms.value = res.query_terms || [];
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    }

    function search() {
      applied = { q: query.q.trim(), department: query.department || '', stage: query.stage || '' };
      first();
    }

    function resetFilters() {
      query.q = '';
      query.department = '';
      query.stage = '';
      search();
    }

    function openEditor(row, readonly) {
      editor.id = row ? row.id : null;
      editor.readonly = readonly;
      editor.open = true;
    }

    async function retire(row) {
      try {
        await ElementPlus.ElMessageBox.confirm(
          `确定下架“${row.name}”吗？下架后群众在服务专区将无法查到该事项（历史记录保留）。`,
          '下架事项', { type: 'warning', confirmButtonText: '确定下架', cancelButtonText: '取消' });
      } catch (e) {
        return; // cancelled
      }
      try {
        await api('DELETE', `/api/v1/service-items/${row.id}`);
        ElementPlus.ElMessage({ type: 'success', message: '事项已下架' });
        // Step back a page if that was the last row on this one.
        if (rows.value.length === 1 && page.value > 1) page.value -= 1;
        load();
      } catch (e) {
        toastError(e);
      }
    }

    async function exportXlsx() {
      exporting.value = true;
      try {
        const { blob, filename } = await api('GET', '/api/v1/service-items/export.xlsx', {
          blob: true, query: { department: applied.department },
        });
        saveBlob(blob, filename || '事项目录.xlsx');
        ElementPlus.ElMessage({ type: 'success', message: '已导出事项目录' });
      } catch (e) {
        toastError(e);
      } finally {
        exporting.value = false;
      }
    }

    Vue.onMounted(() => {
      loadDepartments();
      search();
    });

    return { query, page, pageSize, rows, total, queryTerms, loading, departments, editor, importOpen,
      exporting, canEdit, canExport, search, resetFilters, onPage, onSize, openEditor, retire, exportXlsx,
      load, daysLabel, STAGES };
  },
  template: `
  <div data-testid="items-page">
    <div class="page-head">
      <div>
        <h2 class="page-title">事项管理</h2>
        <p class="page-sub">{{ canEdit ? '维护服务专区的事项目录：要件、流程、时限与常见问题' : '查阅服务专区的事项目录（只读）' }}</p>
      </div>
      <div class="page-actions">
        <el-button v-if="canEdit" type="primary" @click="openEditor(null, false)" data-testid="item-create">新增事项</el-button>
        <el-button v-if="canEdit" @click="importOpen = true" data-testid="items-import">导入</el-button>
        <el-button v-if="canExport" :loading="exporting" @click="exportXlsx" data-testid="items-export">导出 XLSX</el-button>
      </div>
    </div>

    <el-card shadow="never" class="filter-card">
      <el-form inline @submit.prevent="search" class="filter-form">
        <el-form-item label="搜索">
          <el-input v-model="query.q" placeholder="用大白话搜，如“办营业执照”“招人交社保”" clearable
                    style="width:320px" data-testid="item-search" @keyup.enter="search" @clear="search" />
        </el-form-item>
        <el-form-item label="部门">
          <el-select v-model="query.department" placeholder="全部部门" clearable filterable style="width:190px"
                     data-testid="item-filter-department" @change="search">
            <el-option v-for="d in departments" :key="d.code" :label="d.name" :value="d.code" />
          </el-select>
        </el-form-item>
        <el-form-item label="阶段">
          <el-select v-model="query.stage" placeholder="全部阶段" clearable style="width:120px"
                     data-testid="item-filter-stage" @change="search">
            <el-option v-for="s in STAGES" :key="s.value" :label="s.label" :value="s.value" />
          </el-select>
        </el-form-item>
        <el-form-item>
          <el-button type="primary" native-type="submit" data-testid="item-search-submit">查询</el-button>
          <el-button @click="resetFilters">重置</el-button>
        </el-form-item>
      </el-form>
      <div v-if="queryTerms.length" class="query-terms">检索词：
        <el-tag v-for="t in queryTerms" :key="t" size="small" effect="plain" class="term-tag">{{ t }}</el-tag>
      </div>
    </el-card>

    <el-card shadow="never">
      <el-table :data="rows" v-loading="loading" element-loading-text="正在加载…" stripe border
                empty-text="没有找到符合条件的事项" data-testid="items-table" row-key="id">
        <el-table-column label="事项名称" min-width="260">
          <template #default="{ row }">
            <div class="item-name" data-testid="item-name">{{ row.name }}</div>
            <div class="item-code">{{ row.code }}</div>
          </template>
        </el-table-column>
        <el-table-column label="部门" width="140">
          <template #default="{ row }"><span data-testid="item-department">{{ row.department.name }}</span></template>
        </el-table-column>
        <el-table-column label="类型" width="110">
          <template #default="{ row }"><span data-testid="item-type">{{ row.item_type }}</span></template>
        </el-table-column>
        <el-table-column label="阶段" width="80" align="center">
          <template #default="{ row }"><el-tag size="small" effect="plain">{{ row.stage_label }}</el-tag></template>
        </el-table-column>
        <el-table-column label="承诺 / 法定时限" width="180">
          <template #default="{ row }">
            <span data-testid="item-days">{{ daysLabel(row.committed_days) }} / {{ daysLabel(row.statutory_days) }}</span>
          </template>
        </el-table-column>
        <el-table-column label="可网办" width="80" align="center">
          <template #default="{ row }">
            <el-tag :type="row.online_available ? 'success' : 'info'" size="small">{{ row.online_available ? '是' : '否' }}</el-tag>
          </template>
        </el-table-column>
        <el-table-column label="操作" :width="canEdit ? 170 : 80" align="center" fixed="right">
          <template #default="{ row }">
            <el-button v-if="canEdit" link type="primary" @click="openEditor(row, false)" data-testid="item-edit">编辑</el-button>
            <el-button v-else link type="primary" @click="openEditor(row, true)" data-testid="item-view">查看</el-button>
            <el-button v-if="canEdit" link @click="openEditor(row, true)" data-testid="item-view">查看</el-button>
            <el-button v-if="canEdit" link type="danger" @click="retire(row)" data-testid="item-retire">下架</el-button>
          </template>
        </el-table-column>
      </el-table>
      <div class="pager">
        <el-pagination background layout="total, sizes, prev, pager, next, jumper" :total="total"
                       :current-page="page" :page-size="pageSize" :page-sizes="[10, 20, 50]"
                       @current-change="onPage" @size-change="onSize" data-testid="items-pager" />
      </div>
    </el-card>

    <item-editor v-model="editor.open" :item-id="editor.id" :readonly="editor.readonly"
                 :departments="departments" @saved="load" />
    <import-dialog v-model="importOpen" @imported="load" />
  </div>`,
};
