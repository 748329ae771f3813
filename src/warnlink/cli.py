"""The `warnlink` command: a thin face over the library.

warnlink demo [--config FED.toml] [--scenario SCEN.toml] [--seed N] [--data-dir DIR] [--json]
              [--transport memory|nats] [--zones ZONES.geojson] [--out DIR]
              [--speed X] [--serve [--port N] [--cot-port N]]
warnlink export EVENT --format geojson|kml [--party P] [--scenario SCEN.toml] [--seed N]
                [--zones ZONES.geojson] [--output FILE]
warnlink up [--config FED.toml] [--data DIR] [--json] [--port N]
warnlink party CODE --role node|relay --config FED.toml --data DIR [--display-port N]
               [--ack-wait S] [--instance NAME]   (by `up`, and by `faults`)
warnlink schema
warnlink validate FED.toml
warnlink audit verify LOG.jsonl [--keyset FILE] [--json]
warnlink audit prove LOG.jsonl ID [--out FILE]
warnlink audit check-proof PROOF.json --keyset FILE
warnlink bench [--quick] [--only NAME ...] [--json] [--out FILE]
warnlink bench accuracy [--seeds N] [--scenario FILE ...] [--json] [--out FILE] [--doc MD]
warnlink faults [--quick] [--case N ...] [--json] [--data DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from warnlink.errors import ConfigError, WarnlinkError

if TYPE_CHECKING:
    from warnlink.node import Node


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
        "--cot-port",
        type=int,
        help="--serve: also stream each party's picture as Cursor-on-Target to TAK clients "
        "over TCP, from this port (0: any free ports)",
    )
    demo.set_defaults(run=_demo)

    export = commands.add_parser("export", help="play a scenario, export one event as GeoJSON/KML")
    export.add_argument("event", help="event id in the party's picture, e.g. JPN-E1")
    export.add_argument("--format", choices=("geojson", "kml"), required=True)
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
        help="serve each party's display from its node, on this port and the next ones",
    )
    up.set_defaults(run=_up)

    party = commands.add_parser("party", help="run one party's node or relay (started by up)")
    party.add_argument("code", help="the party's code")
    party.add_argument("--role", choices=("node", "relay"), required=True)
    party.add_argument("--config", type=Path, required=True, help="federation TOML")
    party.add_argument("--data", type=Path, required=True, help="the data folder up wrote")
    party.add_argument("--display-port", type=int, help="node: serve the display on this port")
    party.add_argument(
        "--ack-wait",
        type=float,
        default=5.0,
        help="seconds before an unacked message returns (default 5)",
    )
    party.add_argument("--instance", help="relay: an instance name (a standby keeps its own files)")
    party.set_defaults(run=_party)

    schema = commands.add_parser("schema", help="print the JSON Schema of the message envelope")
    schema.set_defaults(run=_schema)

    validate = commands.add_parser(
        "validate",
        help="check a federation file, or fly a table of published launches",
        description="warnlink validate FED.toml | warnlink validate launches FILE.csv [--json]",
    )
    validate.add_argument("target", help="a federation TOML, or the word 'launches'")
    validate.add_argument("path", type=Path, nargs="?", help="with 'launches': the CSV table")
    validate.add_argument("--json", action="store_true", help="launches: print JSON")
    validate.set_defaults(run=_validate)

    trajectory = commands.add_parser(
        "trajectory", help="fly a launch request with the launch model and describe the flight"
    )
    trajectory.add_argument("--apogee-km", type=float, help="omit for a minimum-energy flight")
    trajectory.add_argument("--range-km", type=float, required=True)
    trajectory.add_argument("--site", type=_lat_lon, default=(39.20, 125.67), help="LAT,LON")
    trajectory.add_argument("--azimuth", type=float, default=90.0, help="degrees from north")
    trajectory.add_argument(
        "--ballistic-coefficient",
        type=float,
        metavar="KG_M2",
        help="the re-entry body's m / (Cd A), kg/m^2 (default: the generic 10000)",
    )
    trajectory.add_argument("--vacuum", action="store_true", help="fly without drag")
    trajectory.add_argument("--json", action="store_true")
    trajectory.set_defaults(run=_trajectory)

    audit = commands.add_parser("audit", help="audit log tools")
    audit_commands = audit.add_subparsers(required=True, metavar="ACTION")
    verify = audit_commands.add_parser(
        "verify",
        help="check an audit log: hash chain, Merkle roots and signed heads (exit 0 intact "
        "and vouched for, 1 tampered, 2 set-up error, 3 entries under no signed head)",
    )
    verify.add_argument("path", type=Path)
    verify.add_argument(
        "--owner", help="the party whose log this must be (default: the first entry's decider)"
    )
    verify.add_argument(
        "--keyset",
        type=Path,
        help="the public key set (default: keys/keyset.json beside the log or in its parent)",
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(run=_audit_verify)
    prove = audit_commands.add_parser(
        "prove", help="print a self-contained inclusion proof of one entry (JSON)"
    )
    prove.add_argument("path", type=Path)
    prove.add_argument(
        "id", help="a message id or product id (its first entry), or an entry index (digits)"
    )
    prove.add_argument("--out", type=Path, help="write the proof to this file")
    prove.set_defaults(run=_audit_prove)
    check_proof = audit_commands.add_parser(
        "check-proof",
        help="check an inclusion proof with the public key set alone (exit 0 valid, 1 invalid)",
    )
    check_proof.add_argument("proof", type=Path)
    check_proof.add_argument("--keyset", type=Path, required=True, help="the public key set")
    check_proof.set_defaults(run=_audit_check_proof)

    keys = commands.add_parser("keys", help="signing keys")
    keys_commands = keys.add_subparsers(required=True, metavar="ACTION")
    keys_init = keys_commands.add_parser(
        "init",
        help="create each party's Ed25519 signing key (owner-only files) and the public key set",
    )
    keys_init.add_argument("dir", type=Path, help="the folder for the keys")
    keys_init.add_argument(
        "--config", type=Path, help="federation TOML (default: packaged trilateral)"
    )
    keys_init.set_defaults(run=_keys_init)

    certs = commands.add_parser("certs", help="TLS certificates")
    certs_commands = certs.add_subparsers(required=True, metavar="ACTION")
    certs_init = certs_commands.add_parser(
        "init",
        help="create each party's CA and its server, node, relay and leaf certificates (mTLS)",
    )
    certs_init.add_argument("dir", type=Path, help="the folder for the certificates")
    certs_init.add_argument(
        "--config", type=Path, help="federation TOML (default: packaged trilateral)"
    )
    certs_init.set_defaults(run=_certs_init)

    bench = commands.add_parser(
        "bench",
        help="the speed benchmarks (figures against references measured in the same run)",
    )
    bench.add_argument("--quick", action="store_true", help="fewer samples: under 2 minutes")
    bench.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these benchmarks (relay, estimation, demo, e2e, salvo)",
    )
    bench.add_argument("--json", action="store_true", help="print the result as JSON")
    bench.add_argument(
        "--out",
        type=Path,
        default=Path("bench/results.json"),
        help="write the JSON result here (default bench/results.json)",
    )
    bench.set_defaults(run=_bench)
    bench_commands = bench.add_subparsers(required=False, metavar="BENCHMARK")
    accuracy = bench_commands.add_parser(
        "accuracy",
        help="every scenario over several seeds: errors against truth, Stone Soup as reference",
    )
    accuracy.add_argument("--seeds", type=int, default=3, help="seeds 1..N (default 3)")
    accuracy.add_argument(
        "--scenario",
        type=Path,
        action="append",
        help="a scenario file (repeatable; default: every scenario in ./scenarios, "
        "else the packaged default)",
    )
    accuracy.add_argument("--json", action="store_true", help="print the result as JSON")
    accuracy.add_argument("--out", type=Path, help="also write the JSON result to this file")
    accuracy.add_argument(
        "--doc", type=Path, help="also put the table in this Markdown file's generated block"
    )
    accuracy.set_defaults(run=_bench_accuracy)

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
    return parser


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
    from warnlink.report import format_summary

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
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0 if summary["leaks"] == 0 else 1


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
        args.output.write_bytes(data)
    return 0


def _demo_serve(args: argparse.Namespace) -> int:
    import signal

    from warnlink.report import format_summary
    from warnlink.web.live import DEFAULT_SPEED, serve_demo

    if args.transport != "memory" or args.data_dir is not None:
        raise ConfigError("demo --serve plays on the in-memory transport in a temporary folder")

    def ready(urls: dict[str, str]) -> None:
        for name, url in urls.items():
            party, _, what = name.partition(" ")
            print(f"{party} {what or 'display'}: {url}", flush=True)
        print("serving until Ctrl-C", file=sys.stderr, flush=True)

    def summary(result: dict[str, Any]) -> None:
        print(json.dumps(result, indent=2) if args.json else format_summary(result), flush=True)
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
            args.config or default_federation_path(), folder, display_port=args.port
        )
        try:
            deployment.start()
            print(f"warnlink up: data in {folder}; Ctrl-C stops everything", file=sys.stderr)
            for party, url in deployment.display_urls.items():
                print(f"{party} display: {url}", file=sys.stderr, flush=True)
            while True:
                health = deployment.health()
                if args.json:
                    print(json.dumps({"all_up": deployment.all_up(), **health}), flush=True)
                else:
                    print(_health_line(health), flush=True)
                time.sleep(args.every)
        except KeyboardInterrupt:
            print("warnlink up: stopping", file=sys.stderr)
        finally:
            # A second Ctrl-C must not cut the stop short and leave processes behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            deployment.stop()
    return 0


def _health_line(health: dict[str, dict[str, object]]) -> str:
    def mark(entry: object, key: str) -> str:
        return "up" if isinstance(entry, dict) and entry.get(key) else "DOWN"

    servers = " ".join(f"{p}:{mark(e, 'healthy')}" for p, e in health["servers"].items())
    processes = " ".join(f"{n}:{mark(e, 'running')}" for n, e in health["processes"].items())
    return f"servers {servers} | processes {processes}"


def _party(args: argparse.Namespace) -> int:
    import signal

    from warnlink.deploy import read_access, run_party
    from warnlink.sharing.federation import load_federation

    federation = load_federation(args.config)
    access = read_access(args.data, args.code)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

        async def serve_display(node: Node) -> None:
            from warnlink.security.certs import CERTS_DIR, server_ssl_context
            from warnlink.web.serve import serve_node

            # mTLS: a browser must present a certificate of the party's own CA.
            tls = server_ssl_context(args.data / CERTS_DIR, node.party)
            await serve_node(
                node, federation, args.data, port=args.display_port, stop=stop, ssl_context=tls
            )

        beside = None if args.display_port is None else serve_display
        await run_party(
            federation,
            access,
            args.role,
            args.data,
            stop,
            beside_node=beside,
            ack_wait_s=args.ack_wait,
            instance=args.instance,
        )

    asyncio.run(run())
    return 0


def _schema(args: argparse.Namespace) -> int:
    from warnlink.model import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _lat_lon(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected LAT,LON in degrees, got {text!r}") from exc
    return lat, lon


def _plain(value: object) -> Any:
    """Dataclasses and enums as JSON-ready values."""
    return json.loads(msgspec.json.encode(value))


def _trajectory(args: argparse.Namespace) -> int:
    from warnlink.sim.flight import describe_flight
    from warnlink.sim.launch import GENERIC_BALLISTIC_COEFFICIENT_KG_M2, LaunchSpec

    lat, lon = args.site
    given = args.ballistic_coefficient
    beta = None if args.vacuum else GENERIC_BALLISTIC_COEFFICIENT_KG_M2 if given is None else given
    spec = LaunchSpec(
        lat,
        lon,
        args.azimuth,
        args.range_km,
        apogee_km=args.apogee_km,
        ballistic_coefficient_kg_m2=beta,
    )
    flight = _plain(describe_flight(spec))
    if args.json:
        print(json.dumps(flight, indent=2))
    else:
        for key, value in flight.items():
            print(f"{key}: {value}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    if args.target == "launches":
        if args.path is None:
            raise ConfigError("validate launches needs the CSV table's path")
        return _validate_launches(args.path, as_json=args.json)
    from warnlink.sharing.federation import load_federation

    federation = load_federation(args.target)
    routes: dict[str, Any] = {
        p: {r: via or "direct" for r, via in federation.routes(p)} for p in federation.parties
    }
    print(f"{args.target}: federation {federation.name!r} is valid")
    for party, reach in routes.items():
        print(f"  {party} reaches " + ", ".join(f"{r} ({how})" for r, how in reach.items()))
    return 0


def _validate_launches(path: Path, *, as_json: bool) -> int:
    from warnlink.sim.reference import check_launch, read_launches

    checks = [check_launch(row) for row in read_launches(path)]
    rows = [
        {
            "line": c.row.line,
            "date": c.row.date,
            "site": c.row.site,
            "apogee_km": c.row.apogee_km,
            "apogee_at_least": c.row.apogee_at_least,
            "range_km": c.row.range_km,
            "published_flight_min": c.row.flight_min,
            "model_flight_min": None
            if c.model_flight_min is None
            else round(c.model_flight_min, 2),
            "relative_error": None if c.relative_error is None else round(c.relative_error, 4),
            "ballistic": None if c.flight is None else c.flight.ballistic,
            "reason": c.error or (c.flight.reason if c.flight else None),
            "range_class": None if c.flight is None else c.flight.range_class,
            "verdict": c.verdict,
        }
        for c in checks
    ]
    if as_json:
        print(json.dumps(_plain(rows), indent=2))
    else:
        for r in rows:
            model = "-" if r["model_flight_min"] is None else f"{r['model_flight_min']:.1f}"
            print(
                f"{r['date']} {r['site']:<24} model {model:>5} min, published "
                f"{r['published_flight_min']:g} min: {r['verdict']}"
                + (f" ({r['reason']})" if r["reason"] else "")
            )
    return 1 if any(c.verdict in ("fail", "error") for c in checks) else 0


def _keys_init(args: argparse.Namespace) -> int:
    from warnlink.demo import default_federation_path
    from warnlink.security.keystore import KEYSET_FILE, init_keys, private_key_path
    from warnlink.sharing.federation import load_federation

    federation = load_federation(args.config or default_federation_path())
    keyset = init_keys(args.dir, federation.parties)
    for party in keyset.parties:
        print(f"{party}: {private_key_path(args.dir, party)} (private, mode 600)")
    print(f"public key set: {args.dir / KEYSET_FILE}")
    return 0


def _certs_init(args: argparse.Namespace) -> int:
    from warnlink.demo import default_federation_path
    from warnlink.security.certs import init_certs
    from warnlink.sharing.federation import load_federation

    federation = load_federation(args.config or default_federation_path())
    written = init_certs(
        args.dir, federation.parties, links=[link.parties for link in federation.links]
    )
    for party, certs in written.parties.items():
        print(f"{party}: {certs.folder}")
        for path in certs.files():
            private = " (private, mode 600)" if path.suffix == ".key" else ""
            print(f"  {path.name}{private}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from warnlink.security.keystore import read_keyset
    from warnlink.sharing.audit import SignedHead
    from warnlink.sharing.audit_proof import default_keyset_path, read_lines, verify_lines

    lines = read_lines(args.path)
    keyset_path = args.keyset or default_keyset_path(args.path)
    if keyset_path is None and any(isinstance(line, SignedHead) for line in lines):
        raise ConfigError("the log has signed heads but no key set was found; pass --keyset")
    keyset = None if keyset_path is None else read_keyset(keyset_path)
    result = verify_lines(lines, keyset, owner=args.owner)
    # 0: intact and every entry under a verified signed head; 1: a broken link;
    # 3: intact but some entries (or all) are under no signed head: not vouched for.
    status = 1 if not result.intact else 0 if result.vouched or keyset is None else 3
    if args.json:
        print(json.dumps({"path": str(args.path), **result.as_dict()}, indent=2))
        return status
    print(
        f"{args.path}: {result.entries} entries, {result.heads} signed heads "
        f"({result.heads_verified} verified)"
    )
    head = result.last_head
    if head is None:
        print("last signed head: none")
    else:
        print(f"last signed head: size {head.tree_size}, root {head.root}, by {head.signer}")
    if result.broken is not None:
        print(f"BROKEN: first broken link at {result.broken}")
    elif status == 3:
        print(
            f"NOT VOUCHED: chain intact, but {result.unsigned_tail} entries are under no "
            "signed head (a writer signs every 100 entries and when it closes)"
        )
    else:
        print(f"intact: chain head {result.chain_head}")
    return status


def _audit_prove(args: argparse.Namespace) -> int:
    from warnlink.sharing.audit import read_log
    from warnlink.sharing.audit_proof import encode_proof, find_entry, prove

    lines = list(read_log(args.path))
    entry = find_entry(lines, args.id)
    if entry is None:
        print(f"warnlink: no entry {args.id} in {args.path}", file=sys.stderr)
        return 2
    proof = prove(lines, entry.index)
    if proof is None:
        print(f"warnlink: no signed head covers entry {entry.index} yet", file=sys.stderr)
        return 2
    if args.out is None:
        print(encode_proof(proof).decode(), end="")
        return 0
    try:
        args.out.write_bytes(encode_proof(proof))
    except OSError as exc:
        print(f"warnlink: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: entry {entry.index} against the head of size {proof.head.tree_size}")
    return 0


def _audit_check_proof(args: argparse.Namespace) -> int:
    from warnlink.errors import DecodeError
    from warnlink.security.keystore import read_keyset
    from warnlink.sharing.audit_proof import check_proof, decode_proof

    keyset = read_keyset(args.keyset)
    try:
        data = args.proof.read_bytes()
    except OSError as exc:
        print(f"warnlink: cannot read {args.proof}: {exc}", file=sys.stderr)
        return 2
    try:
        proof = decode_proof(data)
    except DecodeError as exc:
        print(f"invalid: {exc}")
        return 1
    problem = check_proof(proof, keyset)
    if problem is not None:
        print(f"invalid: {problem}")
        return 1
    entry, head = proof.entry, proof.head
    print(
        f"valid: entry {entry.index} ({entry.outcome} {entry.msg_id or '-'} to "
        f"{entry.recipient or '-'}) is in {head.signer}'s log of {head.tree_size} entries, "
        f"root {head.root}"
    )
    return 0


def _bench(args: argparse.Namespace) -> int:
    from warnlink.benchmarks.runner import format_table, run_suite

    command = "warnlink bench" + (" --quick" if args.quick else "")
    command += "".join(f" --only {name}" for name in args.only or [])

    def progress(name: str) -> None:
        print(f"bench: {name}...", file=sys.stderr, flush=True)

    suite = run_suite(args.only, quick=args.quick, command=command, progress=progress)
    text = json.dumps(suite, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text if args.json else format_table(suite))
    return 0


def _bench_accuracy(args: argparse.Namespace) -> int:
    from warnlink.accuracy.run import run_accuracy, scenario_files
    from warnlink.accuracy.table import format_accuracy, replace_table
    from warnlink.sim.scenario import default_scenario_path

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {args.seeds}")
    scenarios = args.scenario or scenario_files(Path("scenarios")) or [default_scenario_path()]
    result = run_accuracy(scenarios, list(range(1, args.seeds + 1)))
    text = json.dumps(result, indent=2)
    table = format_accuracy(result)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    if args.doc is not None:
        command = f"warnlink bench accuracy --seeds {args.seeds}" + "".join(
            f" --scenario {path}" for path in args.scenario or []
        )
        markdown = args.doc.read_text(encoding="utf-8")
        args.doc.write_text(replace_table(markdown, table, command), encoding="utf-8")
    print(text if args.json else table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
