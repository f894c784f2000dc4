"""``python -m server <command>`` — serve (default), worker, migrate, seed, create-staff,
import-service-items, openapi, makemigrations, rollup."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from server.logging import configure
from server.settings import Settings

console = Console(stderr=True)


def _uvloop() -> None:
    # uvloop measured +25–30 % on database/Redis/outbound-heavy paths; optional.
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()


@contextlib.asynccontextmanager
async def _runtime(settings: Settings) -> AsyncIterator[object]:
    from models.redis_keys import Keys
    from server import db
    from server.app import make_redis
    from services.crypto import FieldCipher
    from services.runtime import Runtime

    await db.init_db(settings.database_url)
    redis = make_redis(settings.redis_url)
    try:
        yield Runtime(settings=settings, redis=redis, keys=Keys(settings.redis_prefix),
                      cipher=FieldCipher(settings.field_encryption_key.get_secret_value()))
    finally:
        await redis.aclose()
        await db.close_db()


async def _quiet_gc(app) -> None:
    """Move everything loaded at start-up (jieba's dictionary, the search index, modules)
    out of the collector's view and collect young objects less often, so that full
    collections over those long-lived objects do not stall requests under load."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    from aiohttp import web

    from server import db
    from server.app import create_app

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    if settings.seed_demo:
        asyncio.run(db.migrate(settings.database_url))
        asyncio.run(_seed(settings, quiet=True))
    _uvloop()
    app = create_app(settings)
    app.on_startup.append(_quiet_gc)
    base = settings.base_url
    console.print(f"[bold green]小微企业服务专区[/] 已启动：{base}")
    console.print(f"  员工控制台  {base}/console/")
    console.print(f"  API 文档    {base}/api/docs   (OpenAPI: {base}/api/openapi.json)")
    console.print(f"  健康检查    {base}/healthz  {base}/readyz  {base}/metrics")
    if settings.wechat_mode == "sandbox":
        console.print(f"  微信沙箱    {settings.wechat_base()}  (登录 code: sandbox-<任意名字>)")
    from services.auth.service import hashes_at_test_strength

    if hashes_at_test_strength():
        console.print("[bold red]PASSWORD_HASH_PROFILE=test：口令哈希使用测试强度，切勿用于生产[/]")
    web.run_app(app, host=settings.host, port=settings.port, access_log=None, print=None,
                reuse_port=args.reuse_port, handle_signals=True)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    """Background work without HTTP: the delivery worker and the scheduler.

    Run as many as the send rate needs; they share work through Redis and never
    through memory, and may be killed at any moment (see notifications.worker)."""
    from notifications import outbox, worker
    from server import scheduler
    from server.app import make_gateway

    _uvloop()
    outbox.configure(settings)

    async def main() -> None:
        async with _runtime(settings) as rt:
            rt.gateway, http = make_gateway(settings, rt, token_cache_seconds=2.0)
            try:
                console.print("worker started (delivery worker + scheduler)")
                await asyncio.gather(worker.run_worker(rt), scheduler.run_forever(rt))
            finally:
                await rt.gateway.close()
                await http.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from server import db

    asyncio.run(db.migrate(settings.database_url))
    console.print("[green]数据库迁移完成[/]")


async def _seed(settings: Settings, quiet: bool = False):
    from services.seed import DEMO_PASSWORD, seed_demo

    async with _runtime(settings) as rt:
        report = await seed_demo(rt)
    if quiet:
        return report
    console.print(f"[green]演示数据就绪[/]：新增部门 {report.departments}，事项 {report.items}，"
                  f"企业 {report.enterprises}")
    table = Table(title="演示账号")
    table.add_column("类型")
    table.add_column("登录")
    table.add_column("说明")
    for username in report.staff:
        table.add_row("员工控制台", username, f"密码 {DEMO_PASSWORD}")
    for code, name in report.owners:
        table.add_row("小程序（沙箱）", code, name)
    console.print(table)
    return report


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    asyncio.run(_seed(settings))


def cmd_create_staff(settings: Settings, args: argparse.Namespace) -> None:
    from services.auth import service as auth
    from services.auth.roles import Role
    from services.errors import DomainError

    async def main() -> None:
        async with _runtime(settings):
            user = await auth.create_staff(username=args.username, password=args.password,
                                           role=Role(args.role), display_name=args.display_name or "",
                                           department_code=args.department)
            console.print(f"[green]已创建[/] {user.username}（{user.role}）")

    try:
        asyncio.run(main())
    except DomainError as exc:
        console.print(f"[red]失败：{exc.message}[/]")
        sys.exit(2)


def cmd_import(settings: Settings, args: argparse.Namespace) -> None:
    from services.errors import DomainError
    from services.service_items import tabular

    path = Path(args.file)
    if not path.exists():
        console.print(f"[red]文件不存在：{path}[/]")
        sys.exit(2)

    async def main():
        async with _runtime(settings) as rt:
            with Progress(TextColumn("[bold]导入事项"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bar:
                task = bar.add_task("import", total=None)
                return await tabular.import_items(
                    rt, data=path.read_bytes(), filename=path.name, actor=None,
                    progress=lambda done, total: bar.update(task, completed=done, total=total))

    try:
        report = asyncio.run(main())
    except DomainError as exc:
        details = "；".join(d["message"] for d in exc.details or []) if isinstance(exc.details, list) else ""
        console.print(f"[red]导入失败，未写入任何数据：{exc.message} {details}[/]")
        sys.exit(2)
    console.print(f"共 {report.total_rows} 行：新增 [green]{report.created}[/]，更新 [green]{report.updated}[/]，"
                  f"拒绝 [red]{len(report.rejected)}[/]")
    if report.rejected:
        table = Table(title="被拒绝的行")
        for col in ("行号", "事项编码", "原因"):
            table.add_column(col)
        for r in report.rejected:
            table.add_row(str(r.row), r.code, "；".join(f"{e['field']}：{e['message']}" for e in r.errors))
        console.print(table)
    if settings.redis_url.startswith("memory://"):
        console.print("提示：使用进程内 Redis 时，正在运行的服务会在重启后看到新目录。")
    sys.exit(1 if report.rejected and not (report.created or report.updated) else 0)


def cmd_openapi(settings: Settings, args: argparse.Namespace) -> None:
    import orjson

    import server.routes  # noqa: F401  (declares every route)
    from handlers.openapi import build_document

    doc = orjson.dumps(build_document(), option=orjson.OPT_INDENT_2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_bytes(doc)
        console.print(f"OpenAPI 文档已写入 {args.out}")
    else:
        sys.stdout.write(doc.decode() + "\n")


def cmd_makemigrations(settings: Settings, args: argparse.Namespace) -> None:
    """Developers: write a migration for model changes (tortoise's built-in tool)."""
    import os

    os.environ["TORTOISE_CLI"] = "1"
    from tortoise.cli.cli import main as tortoise_main

    sys.argv = ["tortoise", "-c", "server.db.TORTOISE_ORM", "makemigrations", "models"] + (
        ["--name", args.name] if args.name else [])
    tortoise_main()


def cmd_rollup(settings: Settings, args: argparse.Namespace) -> None:
    """Rebuild the insights fact tables for a range of days, one transaction per day."""
    from datetime import timedelta

    from services.insights import rollup

    until = args.until or rollup.today()
    if until < args.since:
        console.print("[red]--until 早于 --since[/]")
        sys.exit(2)
    days = [args.since + timedelta(days=n) for n in range((until - args.since).days + 1)]

    async def main() -> int:
        rows = 0
        async with _runtime(settings):
            with Progress(TextColumn("[bold]汇总 {task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bar:
                task = bar.add_task(days[0].isoformat(), total=len(days) + 1)
                # running totals once at the end, not every later week once per day (an
                # interrupted run leaves them dropped, which reads and the next run handle)
                await rollup.drop_totals(days[0])
                for day in days:
                    bar.update(task, description=day.isoformat())
                    rows += (await rollup.rollup(day, day, totals=False))["case_rows"]
                    bar.advance(task)
                bar.update(task, description="累计值")
                await rollup.rebuild_totals(days[0])
                bar.advance(task)
        return rows

    rows = asyncio.run(main())
    console.print(f"[green]已汇总[/] {args.since} … {until}：{len(days)} 天，{rows} 行事实")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server", description="小微企业服务专区")
    sub = p.add_subparsers(dest="command")
    s = sub.add_parser("serve", help="start the API (default)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--reuse-port", action="store_true", help="several processes on one port")
    sub.add_parser("worker", help="background jobs without HTTP")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("seed", help="add demo data where missing")
    c = sub.add_parser("create-staff", help="create a staff account")
    c.add_argument("--username", required=True)
    c.add_argument("--role", required=True)
    c.add_argument("--password", required=True)
    c.add_argument("--display-name")
    c.add_argument("--department")
    i = sub.add_parser("import-service-items", help="import the catalogue from CSV or XLSX")
    i.add_argument("file")
    o = sub.add_parser("openapi", help="print or write the OpenAPI document")
    o.add_argument("--out")
    m = sub.add_parser("makemigrations", help="developers: new migration from model changes")
    m.add_argument("--name")
    r = sub.add_parser("rollup", help="rebuild the insights fact tables for a range of days")
    r.add_argument("--since", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    r.add_argument("--until", type=date.fromisoformat, help="YYYY-MM-DD (default: today)")
    return p


COMMANDS = {"serve": cmd_serve, "worker": cmd_worker, "migrate": cmd_migrate, "seed": cmd_seed,
            "create-staff": cmd_create_staff, "import-service-items": cmd_import,
            "openapi": cmd_openapi, "makemigrations": cmd_makemigrations, "rollup": cmd_rollup}


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure(settings.log_level)
    command = args.command or "serve"
    if command == "serve" and not args.command:
        args = build_parser().parse_args(["serve"])
    COMMANDS[command](settings, args)


if __name__ == "__main__":
    main()
