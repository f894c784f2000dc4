"""One access-token refresher for the whole deployment, proven across OS processes.

A fresh token invalidates the previous one, so two processes refreshing on their
own would break each other's calls. Here the sandbox runs as its own process and
four worker processes fire 50 concurrent requests each at real Redis; the
sandbox must see exactly one fetch and every caller must hold the same token.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from models.redis_keys import Keys
from wechat.sandbox import DEFAULT_APPS

from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
CALLS = 50
MINI = DEFAULT_APPS[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return orjson.loads(resp.read())


def _post(url: str, body: dict | None = None) -> None:
    req = urllib.request.Request(url, data=orjson.dumps(body or {}), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=2).close()


@pytest.fixture(scope="module")
def sandbox_process() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wechat.sandbox", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                _get(f"{base}/sandbox/stats")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    detail = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"sandbox did not start: {detail}")
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def keys() -> Iterator[Keys]:
    keys = Keys(prefix=f"sztest:{uuid.uuid4().hex}")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"real Redis at {REDIS_URL} is unreachable ({exc}); set TEST_REDIS_URL")
    yield keys
    found = list(client.scan_iter(match=f"{keys.prefix}:*", count=500))
    if found:
        client.delete(*found)
    client.close()


def _storm(base: str, keys: Keys, stale: str = "") -> list[str]:
    """Start the worker processes, release them together, collect every token."""
    cmd = [sys.executable, "-m", "tests.helpers.token_storm", "--base-url", base,
           "--redis-url", REDIS_URL, "--prefix", keys.prefix, "--appid", MINI.appid,
           "--secret", MINI.secret, "--calls", str(CALLS)]
    if stale:
        cmd += ["--stale", stale]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
    try:
        for p in procs:
            line = p.stdout.readline().strip()  # type: ignore[union-attr]
            if line != "ready":
                pytest.fail(f"worker failed to start: {line} {p.stderr.read()}")  # type: ignore[union-attr]
        for p in procs:  # the start signal, as close together as we can send it
            p.stdin.write("go\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
        tokens: list[str] = []
        for p in procs:
            out, err = p.communicate(timeout=20)
            assert p.returncode == 0, err
            result = orjson.loads(out.strip().splitlines()[-1])
            assert result["errors"] == [], result["errors"]
            tokens += result["tokens"]
        return tokens
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_two_hundred_callers_in_four_processes_cause_exactly_one_fetch(sandbox_process, keys) -> None:
    _post(f"{sandbox_process}/sandbox/reset")
    assert _get(f"{sandbox_process}/sandbox/stats")["token_fetches"] == {}

    tokens = _storm(sandbox_process, keys)

    assert len(tokens) == PROCESSES * CALLS
    assert len(set(tokens)) == 1, "every caller holds the same token"
    assert _get(f"{sandbox_process}/sandbox/stats")["token_fetches"] == {MINI.appid: 1}


def test_a_storm_of_expired_token_errors_causes_exactly_one_forced_refresh(sandbox_process, keys) -> None:
    _post(f"{sandbox_process}/sandbox/reset")
    req = urllib.request.Request(f"{sandbox_process}/cgi-bin/stable_token", method="POST", data=orjson.dumps(
        {"grant_type": "client_credential", "appid": MINI.appid, "secret": MINI.secret}))
    with urllib.request.urlopen(req, timeout=2) as resp:
        stale = orjson.loads(resp.read())["access_token"]
    client = redis.Redis.from_url(REDIS_URL)
    client.set(keys.access_token(MINI.appid), stale, ex=600)
    client.close()
    # The token dies at the platform while still cached: every worker's call fails
    # with 42001 and each asks for a refresh of that same stale token.
    _post(f"{sandbox_process}/sandbox/expire-token", {"appid": MINI.appid})

    renewed = _storm(sandbox_process, keys, stale=stale)

    assert len(renewed) == PROCESSES * CALLS
    assert len(set(renewed)) == 1 and renewed[0] != stale
    assert _get(f"{sandbox_process}/sandbox/stats")["token_fetches"] == {MINI.appid: 2}
