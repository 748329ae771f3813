"""The `warnlink` command: a thin face over the library.

warnlink demo [--config FED.toml] [--scenario SCEN.toml] [--seed N] [--data DIR] [--json]
warnlink schema
warnlink validate FED.toml
warnlink audit verify LOG.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warnlink.errors import WarnlinkError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failed check, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except WarnlinkError as exc:
        print(f"warnlink: {exc}", file=sys.stderr)
        return 2
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warnlink", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="play a scenario through a federation, print a summary")
    demo.add_argument("--config", type=Path, help="federation TOML (default: packaged trilateral)")
    demo.add_argument("--scenario", type=Path, help="scenario TOML (default: packaged default)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--data", type=Path, help="keep the bus and audit logs in this empty folder")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.set_defaults(run=_demo)

    schema = commands.add_parser("schema", help="print the JSON Schema of the message envelope")
    schema.set_defaults(run=_schema)

    validate = commands.add_parser("validate", help="check a federation file")
    validate.add_argument("path", type=Path)
    validate.set_defaults(run=_validate)

    audit = commands.add_parser("audit", help="audit log tools")
    audit_commands = audit.add_subparsers(required=True, metavar="ACTION")
    verify = audit_commands.add_parser("verify", help="check an audit log's hash chain")
    verify.add_argument("path", type=Path)
    verify.set_defaults(run=_audit_verify)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from warnlink.demo import run_demo
    from warnlink.report import format_summary

    interactive = sys.stderr.isatty()

    def progress(second: float, line: str) -> None:
        # A live line on a terminal; one line a minute of scenario time in a log.
        if interactive:
            print(f"\r\x1b[2Kepoch+{second:4.0f} s  {line}", end="", file=sys.stderr, flush=True)
        elif second % 60 == 0:
            print(f"epoch+{second:4.0f} s  {line}", file=sys.stderr, flush=True)

    summary = asyncio.run(
        run_demo(args.config, args.scenario, seed=args.seed, data_dir=args.data, progress=progress)
    )
    if interactive:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0 if summary["leaks"] == 0 else 1


def _schema(args: argparse.Namespace) -> int:
    from warnlink.model import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from warnlink.sharing.federation import load_federation

    federation = load_federation(args.path)
    routes: dict[str, Any] = {
        p: {r: via or "direct" for r, via in federation.routes(p)} for p in federation.parties
    }
    print(f"{args.path}: federation {federation.name!r} is valid")
    for party, reach in routes.items():
        print(f"  {party} reaches " + ", ".join(f"{r} ({how})" for r, how in reach.items()))
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from warnlink.sharing.audit import first_broken, read_entries

    entries = list(read_entries(args.path))
    broken = first_broken(entries)
    print(f"{args.path}: {len(entries)} entries")
    if broken is not None:
        print(f"chain broken at entry {broken}")
        return 1
    print(f"chain intact; head {entries[-1].hash if entries else '(empty)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
