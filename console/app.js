// The console shell: hash routing, the role-dependent menu, the header and the
// session life cycle (login, 401, idle timeout, logout). Pages live in js/pages.

import { api, clearSession, IDLE_LIMIT_MS, onUnauthorized, session, setSession } from './js/api.js';
import { can, loadPolicyOptions, menuFor, MENU, ROLE_LABELS } from './js/labels.js';
import LoginPage from './js/pages/login.js';
import HomePage from './js/pages/home.js';
import ItemsPage from './js/pages/items.js';
import AccountsPage from './js/pages/accounts.js';
import AuditPage from './js/pages/audit.js';
import PoliciesPage from './js/pages/policies.js';
import WorkbenchPage from './js/pages/workbench.js';
import SupervisionPage from './js/pages/supervision.js';
import InsightsPage from './js/pages/insights.js';
import ProposalsPage from './js/pages/proposals.js';

const PAGES = { home: HomePage, items: ItemsPage, policies: PoliciesPage, accounts: AccountsPage, audit: AuditPage,
  cases: WorkbenchPage, supervision: SupervisionPage, insights: InsightsPage, proposals: ProposalsPage };
const TITLES = Object.fromEntries(MENU.map((m) => [m.name, m.label]));

function routeFromHash() {
  const name = window.location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return name || 'home';
}

function go(name) {
  if (routeFromHash() !== name) window.location.hash = '#/' + name;
}

const App = {
  name: 'ConsoleApp',
  components: { LoginPage },
  setup() {
    const route = Vue.ref(routeFromHash());
    // True until /me has confirmed a stored token, so a stale token never flashes the shell.
    const checking = Vue.ref(!!session.token);
    const notice = Vue.ref('');
    const collapsed = Vue.ref(false);

    const user = Vue.computed(() => session.user);
    const menu = Vue.computed(() => menuFor(session.user));
    const allowed = Vue.computed(() => {
      const entry = MENU.find((m) => m.name === route.value);
      return !!entry && (!entry.capability || can(session.user, entry.capability));
    });
    const page = Vue.computed(() => (allowed.value ? PAGES[route.value] : null));
    const roleLabel = Vue.computed(() => (user.value ? user.value.role_label || ROLE_LABELS[user.value.role] : ''));

    function syncRoute() {
      route.value = routeFromHash();
      if (session.user && !allowed.value) {
        // Someone typed or bookmarked a page outside their role: say so, then go home.
        if (MENU.some((m) => m.name === route.value)) {
          ElementPlus.ElMessage({ type: 'warning', message: '您的角色无权访问该页面' });
        }
        go('home');
        route.value = 'home';
      }
      document.title = (session.user ? (TITLES[route.value] || '首页') : '登录') + ' - 小微企业服务专区工作人员控制台';
    }

    function toLogin(message) {
      clearSession();
      notice.value = message || '';
      checking.value = false;
      document.title = '登录 - 小微企业服务专区工作人员控制台';
    }

    onUnauthorized((err) => toLogin(err.message || '登录已过期，请重新登录'));

    function onLoggedIn() {
      notice.value = '';
      syncRoute();
    }

    async function logout() {
      try {
        await api('POST', '/api/v1/auth/logout', { noAuthRedirect: true });
      } catch (e) {
        // Already expired or offline: the local session is dropped either way.
      }
      toLogin('');
      ElementPlus.ElMessage({ type: 'success', message: '已安全退出' });
    }

    async function confirmStoredSession() {
      if (!session.token) return;
      try {
        const me = await api('GET', '/api/v1/me');
        setSession(session.token, me);
        checking.value = false;
        syncRoute();
      } catch (e) {
        // 401 has already sent us to the login page; anything else: show login too.
        if (session.token) toLogin(e.message);
      }
    }

    let idleTimer = null;
    Vue.onMounted(() => {
      // The policy code tables (public, read once). A failure here is not shown: the
      // policy page asks again when it opens and reports it there.
      loadPolicyOptions().catch(() => {});
      window.addEventListener('hashchange', syncRoute);
      confirmStoredSession();
      if (!session.token) syncRoute();
      idleTimer = window.setInterval(() => {
        if (session.token && Date.now() - session.lastActivity > IDLE_LIMIT_MS) {
          api('POST', '/api/v1/auth/logout', { noAuthRedirect: true }).catch(() => {});
          toLogin('超过 30 分钟未操作，已自动退出，请重新登录');
        }
      }, 15000);
    });
    Vue.onBeforeUnmount(() => {
      window.removeEventListener('hashchange', syncRoute);
      window.clearInterval(idleTimer);
    });

    return { route, checking, notice, collapsed, user, menu, page, roleLabel, onLoggedIn, logout, go, session };
  },
  template: `
  <div v-if="checking" class="boot" v-loading="true" element-loading-text="正在验证登录状态…"></div>
  <login-page v-else-if="!session.token || !user" :notice="notice" @logged-in="onLoggedIn" />
  <el-container v-else class="shell">
    <el-header class="shell-header" height="60px">
      <div class="brand">
        <span class="brand-emblem">企</span>
        <span class="brand-title">小微企业服务专区</span>
        <span class="brand-sub">工作人员控制台</span>
      </div>
      <div class="header-user">
        <el-icon class="header-icon"><UserFilled /></el-icon>
        <span data-testid="header-user">{{ user.display_name || user.username }}</span>
        <el-tag size="small" effect="dark" class="role-tag" data-testid="header-role">{{ roleLabel }}</el-tag>
        <el-button size="small" class="logout-btn" @click="logout" data-testid="logout">退出</el-button>
      </div>
    </el-header>
    <el-container>
      <el-aside width="200px" class="shell-aside">
        <el-menu :default-active="route" class="shell-menu" data-testid="menu" @select="go">
          <el-menu-item v-for="m in menu" :key="m.name" :index="m.name" :data-testid="'menu-' + m.name">
            <el-icon><component :is="m.icon" /></el-icon>
            <span>{{ m.label }}</span>
          </el-menu-item>
        </el-menu>
        <div class="aside-foot">操作均记入审计日志</div>
      </el-aside>
      <el-main class="shell-main">
        <component :is="page" v-if="page" :key="route" />
      </el-main>
    </el-container>
  </el-container>`,
};

const app = Vue.createApp(App);
app.use(ElementPlus, { locale: ElementPlusLocaleZhCn });
// Menu and header icons come from the vendored Element Plus icon set.
for (const [name, component] of Object.entries(ElementPlusIconsVue)) {
  app.component(name, component);
}
app.mount('#app');
