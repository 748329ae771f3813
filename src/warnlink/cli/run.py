"""`warnlink demo|export|up|party|faults`: play, serve, deploy, break on purpose."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from warnlink.errors import ConfigError
from warnlink.interop.formats import EXPORTS
from warnlink.transport.private import private_file


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands."""
    demo = commands.add_parser("demo", help="play a scenario through a federation, print a summary")
    demo.add_argument("--config", type=Path, help="federation TOML (default: packaged trilateral)")
    demo.add_argument("--scenario", type=Path, help="scenario TOML (default: packaged default)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument(
        "--data-dir",
        "--data",
        dest="data_dir",
        type=Path,
        help="keep the bus, the audit logs and the key set in this empty folder",
    )
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.add_argument(
        "--transport",
        choices=("memory", "nats"),
        default="memory",
        help="memory: one in-process bus (default); nats: a NATS server per party, started "
        "for the run",
    )
    demo.add_argument("--zones", type=Path, help="user alert zones (GeoJSON) for every party")
    demo.add_argument(
        "--out", type=Path, help="write each party's CAP alerts, CoT events, GeoJSON and KML here"
    )
    demo.add_argument(
        "--speed",
        type=float,
        help="scenario seconds per wall-clock second (default: as fast as it computes; "
        "20 with --serve)",
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="serve every party's live display while the scenario plays, and after it until Ctrl-C",
    )
    demo.add_argument(
        "--port", type=int, default=8000, help="--serve: the first party's port (default 8000)"
    )
    demo.add_argument(
        "--ws-clients",
        type=int,
        help="--serve: the most WebSocket clients each display takes at once (default 64)",
    )
    demo.add_argument(
        "--cot-port",
        type=int,
        help="--serve: also stream each party's picture as Cursor-on-Target to TAK clients "
        "over TCP, from this port (0: any free ports)",
    )
    demo.set_defaults(run=_demo)

    export = commands.add_parser("export", help="play a scenario, export one event as GeoJSON/KML")
    export.add_argument("event", help="event id in the party's picture, e.g. JPN-E1")
    export.add_argument("--format", choices=EXPORTS, required=True)
    export.add_argument("--party", default="USA", help="whose picture (default USA)")
    export.add_argument("--scenario", type=Path, help="scenario TOML (default: packaged default)")
    export.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    export.add_argument("--zones", type=Path, help="user alert zones (GeoJSON)")
    export.add_argument("--output", type=Path, help="write here instead of standard output")
    export.set_defaults(run=_export)

    up = commands.add_parser(
        "up", help="start a NATS server per party, and every node and relay as processes"
    )
    up.add_argument("--config", type=Path, help="federation TOML (default: packaged trilateral)")
    up.add_argument("--data", type=Path, help="data folder (default: a temporary one)")
    up.add_argument("--json", action="store_true", help="print health as JSON lines")
    up.add_argument("--every", type=float, default=5.0, help="seconds between health lines")
    up.add_argument(
        "--port",
        type=int,
        default=0,
        help="each party's HTTPS port (display, API, UDL ingest): this one and the next ones "
        "in federation order (default 0: free ports; see DATA/endpoints.json)",
    )
    up.add_argument(
        "--cot-port",
        type=int,
        default=0,
        help="each party's CoT TLS stream port, likewise (default 0: free ports)",
    )
    up.add_argument("--host", default="127.0.0.1", help="the address nodes listen on")
    up.set_defaults(run=_up)

    party = commands.add_parser("party", help="run one party's node or relay (started by up)")
    party.add_argument("code", help="the party's code")
    party.add_argument("--role", choices=("node", "relay"), required=True)
    party.add_argument("--config", type=Path, required=True, help="federation TOML")
    party.add_argument("--data", type=Path, required=True, help="the data folder up wrote")
    party.add_argument("--host", default="127.0.0.1", help="node: the address to listen on")
    party.add_argument(
        "--http-port",
        "--display-port",
        dest="http_port",
        type=int,
        default=0,
        help="node: the HTTPS port (display, API, UDL ingest); 0: a free one",
    )
    party.add_argument("--cot-port", type=int, default=0, help="node: the CoT port; 0: a free one")
    party.add_argument(
        "--ack-wait",
        type=float,
        default=5.0,
        help="seconds before an unacked message returns (default 5)",
    )
    party.add_argument("--instance", help="relay: an instance name (a standby keeps its own files)")
    party.set_defaults(run=_party)

    faults = commands.add_parser(
        "faults", help="the fault suite on real processes: loss, duplicates, order, resume"
    )
    faults.add_argument("--quick", action="store_true", help="reduced sizes (as in make test)")
    faults.add_argument(
        "--case", type=int, action="append", dest="cases", help="a case number (repeatable)"
    )
    faults.add_argument("--json", action="store_true", help="print the results as JSON")
    faults.add_argument("--data", type=Path, help="keep each case's data here (default: temporary)")
    faults.set_defaults(run=_faults)


def _faults(args: argparse.Namespace) -> int:
    from warnlink.faults import CASES, FULL, QUICK, CaseResult, run_faults, table
    from warnlink.faults.report import as_json, row

    numbers = args.cases or sorted(CASES)
    unknown = [n for n in numbers if n not in CASES]
    if unknown:
        print(f"warnlink faults: no case {unknown} (cases: {sorted(CASES)})", file=sys.stderr)
        return 2

    def progress(result: CaseResult) -> None:
        if not args.json:
            print(row(result), file=sys.stderr, flush=True)

    results = asyncio.run(
        run_faults(numbers, QUICK if args.quick else FULL, folder=args.data, on_result=progress)
    )
    if args.json:
        print(json.dumps(as_json(results), indent=2))
    else:
        print(table(results))
    return 0 if all(all(r.met.values()) for r in results) else 1


def _demo(args: argparse.Namespace) -> int:
    from warnlink.demo import run_demo

    if args.serve:
        return _demo_serve(args)

    interactive = sys.stderr.isatty()

    def progress(second: float, line: str) -> None:
        # A live line on a terminal; one line a minute of scenario time in a log.
        if interactive:
            print(f"\r\x1b[2Kepoch+{second:4.0f} s  {line}", end="", file=sys.stderr, flush=True)
        elif second % 60 == 0:
            print(f"epoch+{second:4.0f} s  {line}", file=sys.stderr, flush=True)

    summary = asyncio.run(
        run_demo(
            args.config,
            args.scenario,
            seed=args.seed,
            data_dir=args.data_dir,
            progress=progress,
            transport=args.transport,
            zones_path=args.zones,
            out_dir=args.out,
            speed=args.speed,
        )
    )
    if interactive:
        print(file=sys.stderr)
    print(json.dumps(summary, indent=2) if args.json else _summary_text(summary))
    return 0 if summary["leaks"] == 0 else 1


def _summary_text(summary: dict[str, Any]) -> str:
    """The demo summary as text, each party's links and stale items at the end."""
    from warnlink.fusion.freshness import STALE_AFTER_S
    from warnlink.report import format_summary

    lines = [
        format_summary(summary),
        "",
        "links at the end (and stale items: track states or impact predictions not refreshed "
        f"for {STALE_AFTER_S:.0f} s):",
    ]
    for party, info in summary["parties"].items():
        links = ", ".join(
            f"{party}-{peer} {link['state']}"
            + (
                " (never heard)"
                if link["last_heartbeat_age_s"] is None
                else f" (last heartbeat {link['last_heartbeat_age_s']:.1f} s before)"
            )
            for peer, link in info["links"].items()
        )
        lines.append(f"  {party}: {links or 'no links'}; {info['stale_items']} items stale")
    return "\n".join(lines)


def _export(args: argparse.Namespace) -> int:
    from warnlink.demo import export_event

    data = asyncio.run(
        export_event(
            args.event,
            args.format,
            party=args.party,
            scenario_path=args.scenario,
            seed=args.seed,
            zones_path=args.zones,
        )
    )
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        private_file(args.output).write_bytes(data)
    return 0


def _demo_serve(args: argparse.Namespace) -> int:
    import signal

    from warnlink.web.live import DEFAULT_SPEED, serve_demo
    from warnlink.web.sockets import SocketLimits

    if args.transport != "memory" or args.data_dir is not None:
        raise ConfigError("demo --serve plays on the in-memory transport in a temporary folder")

    def ready(urls: dict[str, str]) -> None:
        for name, url in urls.items():
            party, _, what = name.partition(" ")
            print(f"{party} {what or 'display'}: {url}", flush=True)
        print("serving until Ctrl-C", file=sys.stderr, flush=True)

    def summary(result: dict[str, Any]) -> None:
        print(json.dumps(result, indent=2) if args.json else _summary_text(result), flush=True)
        print("scenario over; still serving until Ctrl-C", file=sys.stderr, flush=True)

    async def run() -> dict[str, Any] | None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await serve_demo(
            stop,
            federation_path=args.config,
            scenario_path=args.scenario,
            seed=args.seed,
            speed=DEFAULT_SPEED if args.speed is None else args.speed,
            base_port=args.port,
            cot_base_port=args.cot_port,
            on_ready=ready,
            on_summary=summary,
            sockets=None if args.ws_clients is None else SocketLimits(max_clients=args.ws_clients),
        )

    result = asyncio.run(run())
    return 0 if result is None or result["leaks"] == 0 else 1


def _up(args: argparse.Namespace) -> int:
    import signal
    import tempfile
    import time

    from warnlink.demo import default_federation_path
    from warnlink.deploy import Deployment

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM stops like Ctrl-C, and Ctrl-C works even where the shell started us with
    # SIGINT ignored (a background job).
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    with contextlib.ExitStack() as stack:
        folder = args.data or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        deployment = Deployment(
            args.config or default_federation_path(),
            folder,
            http_port=args.port,
            cot_port=args.cot_port,
            host=args.host,
        )
        links = _LinkLines(folder, deployment.federation.parties)
        try:
            deployment.start()
            endpoints = deployment.wait_ready()
            print(f"warnlink up: data in {folder}; Ctrl-C stops everything", file=sys.stderr)
            for party, where in endpoints.items():
                print(
                    f"{party}: https {where['http']}  nats {where['nats']}  cot {where['cot']}",
                    file=sys.stderr,
                    flush=True,
                )
            print(f"endpoints: {folder / 'endpoints.json'}", file=sys.stderr, flush=True)
            health_due = time.monotonic()
            while True:
                if time.monotonic() >= health_due:
                    health = deployment.health()
                    if args.json:
                        print(json.dumps({"all_up": deployment.all_up(), **health}), flush=True)
                    else:
                        print(_health_line(health), flush=True)
                    health_due += args.every
                for line in links.new():
                    print(line, file=sys.stderr, flush=True)
                time.sleep(min(args.every, LINK_LINES_EVERY_S))
        except KeyboardInterrupt:
            print("warnlink up: stopping", file=sys.stderr)
        finally:
            # A second Ctrl-C must not cut the stop short and leave processes behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            deployment.stop()
    return 0


#: How often `up` looks for link transitions in its node processes' logs.
LINK_LINES_EVERY_S = 1.0


class _LinkLines:
    """The link transitions `up`'s node processes print (`deploy.announce_links`).

    A node process writes its stderr to its log (`deploy.process_log_path`); `new` returns the
    link lines appended since the last call, so `up` shows them too. Lines already in a
    log when `up` starts (a data folder used before) are skipped.
    """

    def __init__(self, folder: Path, parties: Iterable[str]) -> None:
        from warnlink.deploy import process_log_path

        self._logs = {party: process_log_path(folder, party, "node") for party in parties}
        self._offsets = {
            party: log.stat().st_size if log.exists() else 0 for party, log in self._logs.items()
        }

    def new(self) -> list[str]:
        lines: list[str] = []
        for party, log in self._logs.items():
            if not log.exists():
                continue
            with log.open("rb") as f:
                f.seek(self._offsets[party])
                data = f.read()
            complete = data[: data.rfind(b"\n") + 1]
            self._offsets[party] += len(complete)
            prefix = f"warnlink {party} node: link "
            lines += [
                line
                for line in complete.decode("utf-8", "replace").splitlines()
                if line.startswith(prefix)
            ]
        return lines


def _health_line(health: dict[str, dict[str, object]]) -> str:
    def mark(entry: object, key: str) -> str:
        return "up" if isinstance(entry, dict) and entry.get(key) else "DOWN"

    servers = " ".join(f"{p}:{mark(e, 'healthy')}" for p, e in health["servers"].items())
    processes = " ".join(f"{n}:{mark(e, 'running')}" for n, e in health["processes"].items())
    return f"servers {servers} | processes {processes}"


def _party(args: argparse.Namespace) -> int:
    import signal

    from warnlink.deploy import read_access, run_party
    from warnlink.party import PartyPorts, serve_party
    from warnlink.sharing.federation import load_federation

    federation = load_federation(args.config)
    access = read_access(args.data, args.code)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

        if args.role == "node":
            ports = PartyPorts(host=args.host, http=args.http_port, cot=args.cot_port)
            await serve_party(
                federation, access, args.data, stop, ports=ports, ack_wait_s=args.ack_wait
            )
            return
        await run_party(
            federation,
            access,
            args.role,
            args.data,
            stop,
            ack_wait_s=args.ack_wait,
            instance=args.instance,
        )

    asyncio.run(run())
    return 0
