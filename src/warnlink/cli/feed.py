"""`warnlink feed`: simulated national systems played into a running `warnlink up`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommand."""
    from warnlink.feed.options import READY_WAIT_S, TAIL_S, VIAS

    feed = commands.add_parser(
        "feed",
        help="play every party's simulated national tracker into a running `up`, in real "
        "time, through its input ports; then summarise what each party holds",
    )
    feed.add_argument("--config", type=Path, help="the federation `up` runs (default: packaged)")
    feed.add_argument("--scenario", type=Path, help="scenario TOML (default: packaged default)")
    feed.add_argument("--data", type=Path, required=True, help="the data folder of `up`")
    feed.add_argument(
        "--via", choices=VIAS, default="http", help="UDL over HTTPS (default), UDL over NATS, CoT"
    )
    feed.add_argument("--seed", type=int, default=1, help="random seed (default 1, as the demo)")
    feed.add_argument(
        "--until",
        type=float,
        metavar="S",
        help="send only what falls due up to S s after the scenario's epoch (default: all)",
    )
    feed.add_argument(
        "--tail",
        type=float,
        default=TAIL_S,
        metavar="S",
        help=f"seconds played after the last impact or --until (default {TAIL_S:g})",
    )
    feed.add_argument(
        "--wait",
        type=float,
        default=READY_WAIT_S,
        metavar="S",
        help=f"seconds to wait for `up`'s endpoints.json (default {READY_WAIT_S:g})",
    )
    feed.add_argument("--json", action="store_true", help="print the summary as JSON")
    feed.set_defaults(run=_feed)


def _feed(args: argparse.Namespace) -> int:
    from warnlink.feed.run import run_feed

    def progress(second: float, line: str) -> None:
        print(f"epoch+{second:4.0f} s  {line}", file=sys.stderr, flush=True)

    async def run() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):  # stop playing, still summarise
            loop.add_signal_handler(signum, stop.set)
        return await run_feed(
            args.data,
            args.config,
            args.scenario,
            via=args.via,
            seed=args.seed,
            until_s=args.until,
            tail_s=args.tail,
            wait_s=args.wait,
            stop=stop,
            progress=progress,
        )

    summary = asyncio.run(run())
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        from warnlink.report import format_feed

        print(format_feed(summary))
    return 0 if summary["leaks"] == 0 and summary["complete"] else 1
