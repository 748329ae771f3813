"""The `warnlink` command: a thin face over the library.

warnlink demo [--config FED.toml] [--scenario SCEN.toml] [--seed N] [--data-dir DIR] [--json]
              [--transport memory|nats] [--zones ZONES.geojson] [--out DIR]
              [--speed X] [--serve [--port N] [--cot-port N]]
warnlink export EVENT --format geojson|kml [--party P] [--scenario SCEN.toml] [--seed N]
                [--zones ZONES.geojson] [--output FILE]
warnlink up [--config FED.toml] [--data DIR] [--json] [--port N]
warnlink feed --data DIR [--config FED.toml] [--scenario SCEN.toml] [--via http|nats|cot]
              [--seed N] [--until S] [--tail S] [--wait S] [--json]
warnlink party CODE --role node|relay --config FED.toml --data DIR [--display-port N]
               [--ack-wait S] [--instance NAME]   (by `up`, and by `faults`)
warnlink schema
warnlink validate FED.toml | launches FILE.csv
warnlink trajectory --range-km KM [--apogee-km KM] [--site LAT,LON] [--azimuth DEG] [--json]
warnlink keys init DIR [--config FED.toml]
warnlink certs init DIR [--config FED.toml]
warnlink sources add PARTY NAME --data DIR [--interval S] [--mode MODE] [--json]
warnlink sources revoke PARTY NAME --data DIR
warnlink sources list PARTY --data DIR [--json]
warnlink audit verify LOG.jsonl [--owner PARTY] [--keyset FILE] [--witness FILE ...]
                      [--instance NAME] [--json]
warnlink audit prove LOG.jsonl ID [--out FILE]
warnlink audit check-proof PROOF.json --keyset FILE
warnlink bench [--quick] [--only NAME ...] [--json] [--out FILE]
warnlink bench soak|scale [--quick] [--json] [--out FILE]
warnlink bench accuracy [--seeds N] [--scenario FILE ...] [--json] [--out FILE] [--doc MD]
warnlink faults [--quick] [--case N ...] [--json] [--data DIR]

The subcommands live by theme: `run` (demo, export, up, party, faults), `feed`, `tools`
(schema, validate, trajectory, bench), `trust` (keys, certs, audit) and `sources`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from warnlink.cli import feed, run, sources, tools, trust
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
    for group in (run, feed, tools, trust, sources):
        group.add_commands(commands)
    return parser
