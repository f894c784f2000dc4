"""``python -m bench <name>``: api (more come with the push, feed, intake and insights issues)."""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="name", required=True)
    api = sub.add_parser("api", help="catalogue search vs hello, wrk, PostgreSQL + Redis")
    api.add_argument("--seconds", type=int, default=10)
    api.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if args.name == "api":
        from bench import api as bench_api

        bench_api.run(seconds=args.seconds, connections=args.connections)


if __name__ == "__main__":
    main()
