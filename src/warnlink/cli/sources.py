"""`warnlink sources add|revoke|list`: a party's national sources and their certificates."""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands."""
    from warnlink.model.record import DataMode
    from warnlink.sources.registry import DEFAULT_INTERVAL_S

    sources = commands.add_parser(
        "sources", help="national sources: client certificates and the registry"
    )
    actions = sources.add_subparsers(required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="issue a source a client certificate of its party's CA and register it "
        "(a running `up` takes it at once)",
    )
    add.add_argument("party", help="the party the source writes as, e.g. ROK")
    add.add_argument("name", help="the source's name, e.g. c2-radar-1")
    add.add_argument("--data", type=Path, required=True, help="the data folder of `up`")
    add.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL_S,
        metavar="S",
        help=f"how often it sends, s; silent after twice that (default {DEFAULT_INTERVAL_S:g})",
    )
    add.add_argument(
        "--mode",
        choices=[m.value for m in DataMode],
        default=DataMode.REAL.value,
        help="the data mode of its CoT events, which do not say (default REAL)",
    )
    add.add_argument("--json", action="store_true", help='print only {"cert": PATH, "key": PATH}')
    add.set_defaults(run=_add)
    revoke = actions.add_parser(
        "revoke", help="revoke a source's certificate (a running `up` refuses it at once)"
    )
    revoke.add_argument("party")
    revoke.add_argument("name")
    revoke.add_argument("--data", type=Path, required=True, help="the data folder of `up`")
    revoke.set_defaults(run=_revoke)
    listing = actions.add_parser("list", help="a party's sources, live and revoked")
    listing.add_argument("party")
    listing.add_argument("--data", type=Path, required=True, help="the data folder of `up`")
    listing.add_argument("--json", action="store_true", help="print the entries as JSON")
    listing.set_defaults(run=_list)


def _add(args: argparse.Namespace) -> int:
    from warnlink.model.record import DataMode
    from warnlink.model.time import SystemClock
    from warnlink.sources.admin import add_source

    change = add_source(
        args.data,
        args.party,
        args.name,
        now_ns=SystemClock().now_ns(),
        interval_s=args.interval,
        data_mode=DataMode(args.mode),
    )
    if args.json:
        print(json.dumps({"cert": str(change.cert), "key": str(change.key)}))
        return 0
    entry = change.entry
    print(
        f"{entry.party} source {entry.name}: certificate {change.cert}, key {change.key} "
        f"(private, mode 600), serial {entry.serial}; {_taken(change.reloaded)}"
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from warnlink.model.time import SystemClock
    from warnlink.sources.admin import revoke_source

    change = revoke_source(args.data, args.party, args.name, now_ns=SystemClock().now_ns())
    entry = change.entry
    print(
        f"{entry.party} source {entry.name}: certificate {entry.serial} revoked; "
        f"{_taken(change.reloaded)}"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    import msgspec

    from warnlink.sources.admin import check_party
    from warnlink.sources.registry import read_registry

    entries = read_registry(args.data, check_party(args.party))
    if args.json:
        print(msgspec.json.encode(entries).decode())
        return 0
    if not entries:
        print(f"{args.party} has no sources in {args.data}")
    for e in entries:
        state = "live" if e.live else f"revoked {_when(e.revoked_ns)}"
        print(
            f"{e.name}: {state}; added {_when(e.added_ns)}, every {e.interval_s:g} s, "
            f"{e.data_mode.value}, serial {e.serial}"
        )
    return 0


def _taken(reloaded: bool) -> str:
    """When the change holds: HTTPS and CoT read the registry at once; NATS on reload."""
    if reloaded:
        return "in force now (NATS: the party's server has reloaded)"
    return "in force now on HTTPS and CoT; on NATS from the next `warnlink up`"


def _when(ns: int | None) -> str:
    if ns is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(ns / 1e9, datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
