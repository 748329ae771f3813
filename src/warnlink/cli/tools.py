"""`warnlink schema|validate|trajectory|bench`: formats, physics and figures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from warnlink.errors import ConfigError

if TYPE_CHECKING:
    pass


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands."""
    schema = commands.add_parser(
        "schema",
        help="print a JSON Schema: the message envelope, or what the ingest port takes",
        description="warnlink schema [envelope|ingest]",
    )
    schema.add_argument(
        "which",
        nargs="?",
        choices=("envelope", "ingest"),
        default="envelope",
        help="envelope (default): the messages between nodes; ingest: a UDL MissileTrack "
        "createBulk body",
    )
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

    bench = commands.add_parser(
        "bench",
        help="the speed benchmarks (figures against references measured in the same run)",
    )
    bench.add_argument("--quick", action="store_true", help="fewer samples: under 2 minutes")
    bench.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these benchmarks (relay, receiver, estimation, association, demo, e2e, "
        "salvo, ingest; on request: soak, scale)",
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
    for name, what in (
        ("soak", "5x the salvo for 10 minutes in the deployed shape (--quick: 30 s)"),
        ("scale", "10 parties, 2 relays, 1,000 live tracks: CPU per message per role, RSS"),
    ):
        heavy = bench_commands.add_parser(name, help=what)
        heavy.add_argument("--quick", action="store_true", help="a smaller run, about 2 minutes")
        heavy.add_argument("--json", action="store_true", help="print the result as JSON")
        heavy.add_argument(
            "--out", type=Path, default=Path(f"bench/{name}.json"), help="write the JSON here"
        )
        heavy.set_defaults(run=_bench, only=[name])


def _schema(args: argparse.Namespace) -> int:
    from warnlink.model import json_schema
    from warnlink.sources.udl_schema import ingest_schema

    print(json.dumps(ingest_schema() if args.which == "ingest" else json_schema(), indent=2))
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
    from warnlink.sharing.routing import rule_routes

    federation = load_federation(args.target)
    routes: dict[str, Any] = {
        p: {r: via or "direct" for r, via in federation.routes(p)} for p in federation.parties
    }
    print(f"{args.target}: federation {federation.name!r} is valid")
    for party, reach in routes.items():
        print(f"  {party} reaches " + ", ".join(f"{r} ({how})" for r, how in reach.items()))
        for recipient, ways in sorted(rule_routes(federation, party).items()):
            for way, kinds in ways.items():
                print(f"    {party} -> {recipient} {way}: {', '.join(kinds)}")
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
