"""`warnlink feed` on the command line: its options, and a start-up that stays light."""

from __future__ import annotations

import subprocess
import sys

from warnlink.cli import _parser
from warnlink.feed.options import READY_WAIT_S, TAIL_S


def test_the_options_reach_the_feed() -> None:
    args = _parser().parse_args(
        ["feed", "--data", "D", "--via", "cot", "--until", "170", "--tail", "5", "--json"]
    )
    assert (str(args.data), args.via, args.until, args.tail, args.json) == (
        "D",
        "cot",
        170.0,
        5.0,
        True,
    )
    defaults = _parser().parse_args(["feed", "--data", "D"])
    assert (defaults.via, defaults.until, defaults.tail, defaults.wait, defaults.seed) == (
        "http",
        None,
        TAIL_S,
        READY_WAIT_S,
        1,
    )


def test_the_command_line_starts_without_the_feeds_clients() -> None:
    code = (
        "import sys, warnlink.cli as c; c._parser(); "
        "print(sorted(m for m in ('httpx2', 'nats', 'warnlink.demo', 'warnlink.feed.run') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
