"""``python -m bench <name>``: api (more come with the push, feed, intake and insights issues)."""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="name", required=True)
    api = sub.add_parser("api", help="catalogue search vs hello, wrk, PostgreSQL + Redis")
    api.add_argument("--seconds", type=int, default=10)
    api.add_argument("--connections", type=int, default=64)
    feed = sub.add_parser("feed", help="policy feed (many enterprises) vs hello, wrk, PostgreSQL + Redis")
    feed.add_argument("--seconds", type=int, default=10)
    feed.add_argument("--connections", type=int, default=64)
    feed.add_argument("--enterprises", type=int, default=3000)
    push = sub.add_parser("push", help="policy push to N enterprises through 2 workers vs a bare client, "
                                       "PostgreSQL + Redis + sandbox")
    push.add_argument("--recipients", type=int, default=100_000)
    intake = sub.add_parser("intake", help="consultation intake (sandbox msgSecCheck, dispatch) vs hello, wrk, "
                                           "PostgreSQL + Redis")
    intake.add_argument("--duration", type=int, default=10, help="seconds per route")
    intake.add_argument("--connections", type=int, default=64)
    intake.add_argument("--users", type=int, default=3000)
    intake.add_argument("--processes", type=int, default=1, help="server processes on one port (--reuse-port)")
    insights = sub.add_parser("insights", help="a year of demand: rollup, dashboard via API vs plain GROUP BY, "
                                               "PostgreSQL + Redis")
    insights.add_argument("--consultations", type=int, default=1_000_000)
    insights.add_argument("--calls", type=int, default=60, help="dashboard requests to time")
    insights.add_argument("--keep", action="store_true", help="keep the generated database (its name is printed)")
    insights.add_argument("--reuse", metavar="DBNAME", help="a database kept by --keep: no generation, "
                                                            "the rollup and timings run again on its data")
    args = parser.parse_args()
    if args.name == "insights":
        from bench import insights as bench_insights

        bench_insights.run(consultations=args.consultations, calls=args.calls, keep=args.keep, reuse=args.reuse)
    if args.name == "intake":
        from bench import intake as bench_intake

        bench_intake.run(seconds=args.duration, connections=args.connections, users=args.users,
                         processes=args.processes)
    if args.name == "push":
        from bench import push as bench_push

        bench_push.run(recipients=args.recipients)
    if args.name == "feed":
        from bench import feed as bench_feed

        bench_feed.run(seconds=args.seconds, connections=args.connections, enterprises=args.enterprises)
    if args.name == "api":
        from bench import api as bench_api

        bench_api.run(seconds=args.seconds, connections=args.connections)


if __name__ == "__main__":
    main()
