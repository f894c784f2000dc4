"""Shared pieces: a server process on PostgreSQL + Redis, wrk runs, peak RSS.

Every figure is paired with a ceiling measured in the same run (the bare hello
route of the same server), because this machine is shared and noisy: ratios are
comparable across runs, absolute numbers much less so.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def pg_database(*, keep: bool = False, reuse: str | None = None):
    """A throw-away database, dropped afterwards. ``keep``: left in place (its name is
    printed), so a slow-to-generate data set can be queried again; ``reuse``: an existing
    database of that name, neither created nor dropped."""
    if reuse:
        if not re.fullmatch(r"[A-Za-z0-9_]+", reuse):
            raise ValueError(f"bad database name {reuse!r}")
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + reuse
        return
    name = f"sz_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        if keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class RssSampler(threading.Thread):
    """Samples a process's resident memory every 100 ms and keeps the peak; also the
    peak of the process plus its children (``tree_peak_mb``), for work a server hands
    to short-lived child processes."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.tree_peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                rss = self.proc.memory_info().rss
                self.peak = max(self.peak, rss)
                for child in self.proc.children(recursive=True):
                    try:
                        rss += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.tree_peak = max(self.tree_peak, rss)
            except psutil.Error:
                return
            time.sleep(0.1)

    @property
    def tree_peak_mb(self) -> float:
        return round(self.tree_peak / 1_048_576, 1)

    def stop(self) -> float:
        self._halt.set()
        self.join(timeout=1)
        return round(self.peak / 1_048_576, 1)


@contextmanager
def server(database_url: str, *, redis_url: str = REDIS_URL, seed: bool = True,
           extra_env: dict | None = None):
    """A real ``python -m server serve`` process, migrated (and seeded), ready when yielded.
    Also used by the tests that need a live server (schemathesis, browser)."""
    with servers(database_url, redis_url=redis_url, seed=seed, extra_env=extra_env) as (base, procs):
        yield base, procs[0]


@contextmanager
def servers(database_url: str, *, redis_url: str = REDIS_URL, seed: bool = True,
            extra_env: dict | None = None, processes: int = 1):
    """``processes`` server processes on one port (``serve --reuse-port``, the kernel
    spreads connections), as README's several-process deployment runs them; the first
    also runs the background jobs, as one process (or a worker) does there. Yields the
    base URL and the processes."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PORT": str(port),
           "REDIS_PREFIX": f"szbench:{uuid.uuid4().hex[:6]}", "LOG_LEVEL": "WARNING",
           **(extra_env or {})}
    run = lambda *a: subprocess.run([sys.executable, "-m", "server", *a], env=env, cwd=ROOT,  # noqa: E731
                                    check=True, capture_output=True, timeout=300)
    run("migrate")
    if seed:
        run("seed")
    serve = [sys.executable, "-m", "server", "serve"] + (["--reuse-port"] if processes > 1 else [])
    # Each server process in a session of its own, as a service manager starts a service.
    # Linux's autogroup scheduling shares the CPU between sessions first: in the caller's
    # session the server shared one share with wrk, the sandbox and this runner, while
    # every PostgreSQL backend (a session each) had a whole one. Five alternating intake
    # pairs: intakes/s × sandbox µs 208.7–215.6 against 201.4–209.3, the server's CPU per
    # intake 3.88–4.13 times the sandbox's against 4.06–4.17 (likely fewer preemptions
    # cooling its caches); the p99 at a given host speed did not move (p99 ÷ sandbox µs
    # 0.48–0.55 against 0.49–0.58), as p99/p50 rose with the rate.
    procs = [subprocess.Popen(serve, env=env if n == 0 else {**env, "RUN_BACKGROUND": "false"}, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
             for n in range(processes)]
    base = f"http://127.0.0.1:{port}"
    try:
        for proc in procs:
            _ready(base, proc, procs)
        yield base, procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        drop_redis_prefix(redis_url, env["REDIS_PREFIX"])


def drop_redis_prefix(redis_url: str, prefix: str) -> int:
    """Delete what a run left under its key prefix; returns how many keys.

    An intake run creates 3,000 sessions (kept 7 days), rate windows and idempotency
    keys: about 9,000 keys. Left behind, they piled up run after run in the Redis the
    PostgreSQL test tier shares, whose per-test clean-up scans the keyspace."""
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        return 0
    import redis

    client = redis.Redis.from_url(redis_url)
    dropped = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                dropped += client.unlink(*batch)
                batch.clear()
        if batch:
            dropped += client.unlink(*batch)
    except redis.RedisError:
        pass  # a clean-up must not hide the run's own outcome
    finally:
        client.close()
    return dropped


def _ready(base: str, proc: subprocess.Popen, procs: list[subprocess.Popen]) -> None:
    """Until ``proc`` answers /readyz. With several processes on the port any of them may
    answer, so each one's listening socket is looked for as well."""
    deadline = time.monotonic() + 30
    port = int(base.rsplit(":", 1)[1])
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            listening = len(procs) == 1 or any(
                c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
                for c in psutil.Process(proc.pid).net_connections(kind="tcp"))
            if listening and requests.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except (requests.RequestException, psutil.Error):
            pass
        time.sleep(0.2)
    for p in procs:
        p.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def as_dict(self) -> dict:
        return {"rps": round(self.rps, 1), "p50_ms": round(self.p50_ms, 2), "p99_ms": round(self.p99_ms, 2),
                "requests": self.requests, "errors": self.errors}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, *, connections: int = 64, seconds: int = 10, threads: int = 2,
        script: str | None = None) -> WrkResult:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (make test installs it)")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    parse = lambda v: _ms(*re.match(r"([\d.]+)(\w+)", v).groups())  # noqa: E731
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return WrkResult(rps=rps, p50_ms=parse(lat["50"]), p99_ms=parse(lat["99"]), requests=total, errors=errors)


# ----------------------------------------------------------------- the server's own view


def histograms(base: str) -> dict[tuple[str, tuple], dict[float, float]]:
    """Every histogram on the server's ``/metrics`` (:func:`parse_histograms`). Several
    processes on one port each keep their own: this is whichever answered."""
    return parse_histograms(requests.get(base + "/metrics", timeout=5).text)


def parse_histograms(text: str) -> dict[tuple[str, tuple], dict[float, float]]:
    """(name, labels without ``le``) → cumulative count per upper bound, of every
    histogram in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[tuple[str, tuple], dict[float, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.type != "histogram":
            continue
        for sample in family.samples:
            if not sample.name.endswith("_bucket"):
                continue
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            out.setdefault((family.name, labels), {})[float(sample.labels["le"])] = sample.value
    return out


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """The q-quantile of a histogram's cumulative buckets, interpolated within the bucket
    it falls in, as Prometheus' ``histogram_quantile`` does (the last finite bound if it
    falls in +Inf); None without observations."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0
    if not total:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * ((rank - below) / (count - below) if count > below else 1.0)
        lower, below = bound, count
    return lower


def server_view(before: dict, after: dict, series: dict[str, tuple[str, dict]]) -> dict[str, dict]:
    """p50 and p99 in ms, and the count, of each named histogram series between two
    scrapes of :func:`histograms`. ``series``: label in the report → (metric name,
    labels)."""
    out: dict[str, dict] = {}
    for label, (name, labels) in series.items():
        key = (name, tuple(sorted(labels.items())))
        now, then = after.get(key, {}), before.get(key, {})
        delta = {b: now[b] - then.get(b, 0.0) for b in now}
        p50, p99 = quantile(delta, 0.5), quantile(delta, 0.99)
        out[label] = {"p50": None if p50 is None else round(p50 * 1000, 2),
                      "p99": None if p99 is None else round(p99 * 1000, 2),
                      "count": int(delta.get(float("inf"), 0))}
    return out
