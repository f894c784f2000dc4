import { api, ApiError, setSession } from '../api.js';
import { STAFF_ROLES } from '../labels.js';

export default {
  name: 'LoginPage',
  props: { notice: { type: String, default: '' } },
  emits: ['logged-in'],
  setup(props, { emit }) {
    const form = Vue.reactive({ username: '', password: '' });
    const loading = Vue.ref(false);
    const error = Vue.ref('');

    async function submit() {
      error.value = '';
      if (!form.username.trim() || !form.password) {
        error.value = '请输入用户名和密码';
        return;
      }
      loading.value = true;
      try {
        const result = await api('POST', '/api/v1/auth/staff-login', {
          body: { username: form.username.trim(), password: form.password },
          noAuthRedirect: true,
        });
        // The same login route also accepts non-console accounts in principle;
        // the console is for staff only, so refuse anything else up front.
        if (!STAFF_ROLES.includes(result.user.role)) {
          error.value = '该账号不是工作人员账号，不能登录控制台';
          return;
        }
        setSession(result.token, result.user);
        form.password = '';
        emit('logged-in', result.user);
      } catch (e) {
        // 401 wrong password, 423 locked, 422 bad input: the server's words are best.
        error.value = e instanceof ApiError ? e.message : '登录失败，请稍后重试';
      } finally {
        loading.value = false;
      }
    }

    return { form, loading, error, submit };
  },
  template: `
  <div class="login-page" data-testid="login-page">
    <div class="login-banner">
      <div class="login-emblem">企</div>
      <div>
        <h1>小微企业服务专区</h1>
        <p>工作人员控制台</p>
      </div>
    </div>
    <el-card class="login-card" shadow="always">
      <h2 class="login-title">工作人员登录</h2>
      <el-alert v-if="notice && !error" :title="notice" type="warning" show-icon :closable="false"
                class="login-alert" data-testid="login-notice" />
      <el-alert v-if="error" :title="error" type="error" show-icon :closable="false"
                class="login-alert" data-testid="login-error" />
      <el-form :model="form" label-position="top" @submit.prevent="submit">
        <el-form-item label="用户名">
          <el-input v-model="form.username" data-testid="login-username" placeholder="请输入用户名"
                    autocomplete="username" size="large" clearable />
        </el-form-item>
        <el-form-item label="密码">
          <el-input v-model="form.password" data-testid="login-password" type="password" show-password
                    placeholder="请输入密码" autocomplete="current-password" size="large"
                    @keyup.enter="submit" />
        </el-form-item>
        <el-button type="primary" size="large" class="login-submit" :loading="loading"
                   data-testid="login-submit" native-type="submit">登 录</el-button>
      </el-form>
      <p class="login-hint">连续 5 次密码错误账号将被锁定 30 分钟；30 分钟无操作将自动退出。</p>
    </el-card>
    <footer class="login-footer">仅限授权工作人员使用，所有操作均记入审计日志</footer>
  </div>`,
};
