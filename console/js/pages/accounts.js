import { ApiError, api, session, toastError, usePager } from '../api.js';
import { BUSINESS_ROLES, can, formatTime, ROLE_LABELS, STAFF_ROLES } from '../labels.js';

function blankAccount() {
  return { username: '', display_name: '', password: '', role: 'consultant', department_code: '' };
}

export default {
  name: 'AccountsPage',
  setup() {
    const rows = Vue.ref([]);
    const total = Vue.ref(0);
    const { page, pageSize, onPage, onSize } = usePager(() => load(), 20);
    const loading = Vue.ref(false);
    const departments = Vue.ref([]);

    const creating = Vue.reactive({ open: false, saving: false, form: blankAccount(), errors: {} });
    const roleDialog = Vue.reactive({ open: false, saving: false, user: null, role: '' });

    const canCreate = Vue.computed(() => can(session.user, 'accounts.create'));
    const canChangeRole = Vue.computed(() => can(session.user, 'accounts.role'));
    const canUnlock = Vue.computed(() => can(session.user, 'accounts.unlock'));

    async function load() {
      loading.value = true;
      try {
        const res = await api('GET', '/api/v1/staff', { query: { page: page.value, page_size: pageSize.value } });
        rows.value = res.items;
        total.value = res.total;
      } catch (e) {
        toastError(e);
      } finally {
        loading.value = false;
      }
    }

    function isLocked(row) {
      return !!row.locked_until && new Date(row.locked_until).getTime() > Date.now();
    }

    function openCreate() {
      creating.form = blankAccount();
      creating.errors = {};
      creating.open = true;
      if (!departments.value.length) {
        api('GET', '/api/v1/departments').then((r) => { departments.value = r.items; }).catch(toastError);
      }
    }

    async function submitCreate() {
      creating.errors = {};
      creating.saving = true;
      try {
        const f = creating.form;
        const body = { username: f.username.trim(), password: f.password, role: f.role,
                       display_name: f.display_name.trim(), department_code: f.department_code || null };
        const user = await api('POST', '/api/v1/staff', { body });
        ElementPlus.ElMessage({ type: 'success', message: `已创建账号 ${user.username}` });
        creating.open = false;
        load();
      } catch (e) {
        if (e instanceof ApiError && e.status === 422 && e.details.length) {
          const errs = {};
          for (const d of e.details) errs[d.field] = d.message;
          creating.errors = errs;
        } else if (e instanceof ApiError && e.status === 409) {
          creating.errors = { username: e.message };
        }
        toastError(e);
      } finally {
        creating.saving = false;
      }
    }

    function openRole(row) {
      roleDialog.user = row;
      roleDialog.role = row.role;
      roleDialog.open = true;
    }

    async function submitRole() {
      roleDialog.saving = true;
      try {
        await api('PUT', `/api/v1/staff/${roleDialog.user.id}/role`, { body: { role: roleDialog.role } });
        ElementPlus.ElMessage({ type: 'success', message: `已将 ${roleDialog.user.username} 的角色变更为${ROLE_LABELS[roleDialog.role]}，其现有登录已失效` });
        roleDialog.open = false;
        load();
      } catch (e) {
        toastError(e);
      } finally {
        roleDialog.saving = false;
      }
    }

    async function unlock(row) {
      try {
        await ElementPlus.ElMessageBox.confirm(`确定解除账号 ${row.username} 的锁定吗？`, '解除锁定',
          { type: 'warning', confirmButtonText: '解除锁定', cancelButtonText: '取消' });
      } catch (e) {
        return;
      }
      try {
        await api('POST', `/api/v1/staff/${row.id}/unlock`);
        ElementPlus.ElMessage({ type: 'success', message: `账号 ${row.username} 已解锁` });
        load();
      } catch (e) {
        toastError(e);
      }
    }

    Vue.onMounted(load);

    return { rows, total, page, pageSize, loading, departments, creating, roleDialog, canCreate, canChangeRole,
      canUnlock, load, isLocked, openCreate, submitCreate, openRole, submitRole, unlock, onPage, onSize,
      formatTime, ROLE_LABELS, BUSINESS_ROLES, STAFF_ROLES, me: Vue.computed(() => session.user) };
  },
  template: `
  <div data-testid="accounts-page">
    <div class="page-head">
      <div>
        <h2 class="page-title">账号管理</h2>
        <p class="page-sub" v-if="canCreate">创建业务人员账号（咨询员、部门主管、政策专员）。管理员角色由安全管理员授予。</p>
        <p class="page-sub" v-else>授予或变更工作人员角色、解除账号锁定。变更角色后其现有登录立即失效。</p>
      </div>
      <div class="page-actions">
        <el-button v-if="canCreate" type="primary" @click="openCreate" data-testid="account-create">新建账号</el-button>
        <el-button @click="load" :loading="loading">刷新</el-button>
      </div>
    </div>
    <el-card shadow="never">
      <el-table :data="rows" v-loading="loading" stripe border empty-text="暂无工作人员账号" data-testid="accounts-table">
        <el-table-column prop="id" label="ID" width="70" align="center" />
        <el-table-column prop="username" label="用户名" min-width="130" />
        <el-table-column prop="display_name" label="姓名" min-width="130" />
        <el-table-column label="角色" width="130">
          <template #default="{ row }"><el-tag effect="plain">{{ row.role_label || ROLE_LABELS[row.role] || row.role }}</el-tag></template>
        </el-table-column>
        <el-table-column label="状态" width="210">
          <template #default="{ row }">
            <el-tag v-if="!row.is_active" type="info">已停用</el-tag>
            <span v-else-if="isLocked(row)" data-testid="account-locked">
              <el-tag type="danger">已锁定</el-tag>
              <span class="muted">至 {{ formatTime(row.locked_until) }}</span>
            </span>
            <el-tag v-else type="success">正常</el-tag>
          </template>
        </el-table-column>
        <el-table-column v-if="canChangeRole || canUnlock" label="操作" width="170" align="center">
          <template #default="{ row }">
            <el-button v-if="canChangeRole" link type="primary" :disabled="me && row.id === me.id"
                       @click="openRole(row)" data-testid="account-role">变更角色</el-button>
            <el-button v-if="canUnlock" link type="warning" :disabled="!isLocked(row)"
                       @click="unlock(row)" data-testid="account-unlock">解锁</el-button>
          </template>
        </el-table-column>
      </el-table>
      <div class="pager">
        <el-pagination background layout="total, sizes, prev, pager, next" :total="total" :current-page="page"
                       :page-size="pageSize" :page-sizes="[20, 50, 100]" @current-change="onPage" @size-change="onSize" />
      </div>
    </el-card>

    <el-dialog v-model="creating.open" title="新建工作人员账号" width="520px" append-to-body :close-on-click-modal="false">
      <el-form :model="creating.form" label-width="90px" data-testid="account-form">
        <el-form-item label="用户名" required :error="creating.errors.username">
          <el-input v-model="creating.form.username" placeholder="字母、数字、下划线，3–64 位" data-testid="account-username" />
        </el-form-item>
        <el-form-item label="姓名" :error="creating.errors.display_name">
          <el-input v-model="creating.form.display_name" data-testid="account-display-name" />
        </el-form-item>
        <el-form-item label="初始密码" required :error="creating.errors.password">
          <el-input v-model="creating.form.password" type="password" show-password placeholder="至少 10 位"
                    autocomplete="new-password" data-testid="account-password" />
        </el-form-item>
        <el-form-item label="角色" required :error="creating.errors.role">
          <el-select v-model="creating.form.role" style="width:100%" data-testid="account-role-select">
            <el-option v-for="r in BUSINESS_ROLES" :key="r" :label="ROLE_LABELS[r]" :value="r" />
          </el-select>
        </el-form-item>
        <el-form-item label="所属部门" :error="creating.errors.department_code">
          <el-select v-model="creating.form.department_code" clearable filterable placeholder="可不选" style="width:100%">
            <el-option v-for="d in departments" :key="d.code" :label="d.name" :value="d.code" />
          </el-select>
        </el-form-item>
      </el-form>
      <template #footer>
        <el-button @click="creating.open = false">取消</el-button>
        <el-button type="primary" :loading="creating.saving" @click="submitCreate" data-testid="account-submit">创建</el-button>
      </template>
    </el-dialog>

    <el-dialog v-model="roleDialog.open" title="变更角色" width="460px" append-to-body>
      <p v-if="roleDialog.user">账号：<b>{{ roleDialog.user.username }}</b>（{{ roleDialog.user.display_name }}）</p>
      <el-select v-model="roleDialog.role" style="width:100%" data-testid="role-select">
        <el-option v-for="r in STAFF_ROLES" :key="r" :label="ROLE_LABELS[r]" :value="r" />
      </el-select>
      <el-alert type="warning" :closable="false" show-icon class="dialog-alert"
                title="变更后该账号的所有现有登录立即失效，需要重新登录。" />
      <template #footer>
        <el-button @click="roleDialog.open = false">取消</el-button>
        <el-button type="primary" :loading="roleDialog.saving" @click="submitRole" data-testid="role-submit">确定</el-button>
      </template>
    </el-dialog>
  </div>`,
};
