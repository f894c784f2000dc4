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
    args = parser.parse_args()
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
