"""Browser tests of the staff console: a live server and headless Chromium.

The server runs as a real subprocess (``python -m server serve``) on a fresh SQLite
database, exactly as staff reach it, instead of an in-process test app: the console
is static files plus the API, and only a real HTTP server serves both the same way
production does. Everything here is synchronous; the async fixtures of
``tests/conftest.py`` are not used.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DEMO_PASSWORD = "Demo@2026zone"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# Never route calls to our own 127.0.0.1 server through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess:
    with log.open("ab") as out:
        return subprocess.run([_python(), "-m", "server", *args], cwd=ROOT, env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=180)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("console-server")
    log = workdir / "server.log"
    port = _free_port()
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"sqlite://{workdir / 'zone.sqlite3'}",
        "REDIS_URL": "memory://",
        "SEED_DEMO": "false",
    })
    migrate = _run(["migrate"], env, log)
    assert migrate.returncode == 0, f"migrate failed:\n{log.read_text(errors='replace')}"
    seed = _run(["seed"], env, log)
    assert seed.returncode == 0, f"seed failed:\n{log.read_text(errors='replace')}"

    out = log.open("ab")
    proc = subprocess.Popen([_python(), "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with _OPENER.open(f"{base}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer /healthz within 60 s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        out.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser():
    # Module scope, not session: while sync Playwright is open it keeps an asyncio loop
    # running in this thread, and pytest-asyncio cannot run the async tests of the
    # rest of the suite (tests/integration) until it is closed again.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context per test (no shared session storage), failing the test
    on any uncaught JavaScript error or console error: a broken page must not pass by
    luck. Failed HTTP answers (the 401 of a wrong password, a 422) are expected and
    are what the tests assert on, so the browser's resource-load messages are ignored."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text)
          if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors in the console page: {errors}"


class Api:
    """Direct API calls, to check what the console did and to set up data."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, *, token: str | None = None, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with _OPENER.open(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def login(self, username: str, password: str = DEMO_PASSWORD) -> str:
        status, body = self.call("POST", "/api/v1/auth/staff-login",
                                 body={"username": username, "password": password})
        assert status == 200, body
        return body["token"]


@pytest.fixture(scope="session")
def api(live_server) -> Api:
    return Api(live_server)


@pytest.fixture
def submit_login(page, live_server):
    """Fill in and submit the login form, as a person would."""

    def _submit(username: str, password: str = DEMO_PASSWORD) -> None:
        page.goto(f"{live_server}/console/")
        page.get_by_test_id("login-username").fill(username)
        page.get_by_test_id("login-password").fill(password)
        page.get_by_test_id("login-submit").click()

    return _submit


@pytest.fixture
def login_as(page, submit_login):
    """Log in with the demo password and wait for 首页."""

    def _login(username: str) -> None:
        submit_login(username)
        page.get_by_test_id("home-page").wait_for()

    return _login
