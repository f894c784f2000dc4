"""``python -m bench api``: catalogue search vs the hello route of the same server.

Target (issue: walking skeleton): ratio ≥ 0.15, p99 ≤ 50 ms at 64 connections,
server peak RSS ≤ 200 MB, on PostgreSQL + Redis.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from rich.console import Console
from rich.table import Table

from bench.common import RssSampler, pg_database, server, wrk

TARGETS = {"ratio_min": 0.15, "p99_ms_max": 50.0, "rss_mb_max": 200.0}


def run(seconds: int = 10, connections: int = 64) -> dict:
    console = Console(stderr=True)
    with pg_database() as url, server(url) as (base, proc):
        sampler = RssSampler(proc.pid)
        sampler.start()
        search_url = f"{base}/api/v1/service-items?q={quote('营业执照')}"
        with console.status("预热…"):
            wrk(search_url, connections=8, seconds=2)
            wrk(f"{base}/api/v1/hello", connections=8, seconds=2)
        with console.status(f"wrk：事项搜索 {seconds}s × {connections} 连接"):
            search = wrk(search_url, connections=connections, seconds=seconds)
        with console.status(f"wrk：hello 参照 {seconds}s × {connections} 连接"):
            hello = wrk(f"{base}/api/v1/hello", connections=connections, seconds=seconds)
        rss = sampler.stop()
    ratio = search.rps / hello.rps if hello.rps else 0.0
    result = {"bench": "api", "database": "postgresql", "redis": "redis", "connections": connections,
              "seconds": seconds, "search": search.as_dict(), "hello": hello.as_dict(),
              "ratio": round(ratio, 3), "rss_mb": rss, "targets": TARGETS,
              "pass": ratio >= TARGETS["ratio_min"] and search.p99_ms <= TARGETS["p99_ms_max"]
              and rss <= TARGETS["rss_mb_max"] and search.errors == 0}
    table = Table(title="GET /api/v1/service-items?q=营业执照 vs /api/v1/hello")
    for col in ("route", "rps", "p50 ms", "p99 ms", "errors"):
        table.add_column(col)
    for name, r in (("search", search), ("hello", hello)):
        table.add_row(name, f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.errors))
    console.print(table)
    console.print(f"ratio {ratio:.3f} (≥ {TARGETS['ratio_min']}), peak RSS {rss} MB (≤ {TARGETS['rss_mb_max']})")
    print(json.dumps(result, ensure_ascii=False))
    return result
