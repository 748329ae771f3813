"""The benchmark suite: run the figures, print the table, write the JSON.

`run_suite` runs the chosen benchmarks (every one by default, in `BENCHMARKS` order)
and returns plain data: the machine (platform, CPU count, Python, library versions),
the command, and each benchmark's inputs and figures. `format_table` renders it with
each figure's reference, ratio and target, met or missed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from warnlink.benchmarks.figure import Result
from warnlink.errors import ConfigError, WarnlinkError

BENCHMARKS: Final = (
    "relay",
    "receiver",
    "estimation",
    "association",
    "demo",
    "e2e",
    "salvo",
    "ingest",
)
"""Every benchmark, in the order the suite runs them; each is a module with a `run(quick)`."""
ON_REQUEST: Final = ("soak", "scale")
"""Benchmarks run only when named (`--only`): minutes each, more than the suite's box."""


def machine() -> dict[str, Any]:
    """The machine and the versions the figures were measured with."""
    versions: dict[str, str | None] = {}
    for package in ("msgspec", "cryptography", "numpy", "nats-py", "stonesoup"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    versions["nats-server"] = _nats_server_version()
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
    }


def _nats_server_version() -> str | None:
    from warnlink.transport.nats_server import find_server_binary

    try:
        out = subprocess.run(
            [str(find_server_binary()), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError, WarnlinkError):
        return None
    return out.stdout.strip().removeprefix("nats-server:").strip() or None


def _runner(name: str) -> Callable[[bool], Result]:
    module = importlib.import_module(f"warnlink.benchmarks.{name}")
    run: Callable[[bool], Result] = module.run
    return run


def run_suite(
    names: Sequence[str] | None = None,
    *,
    quick: bool = False,
    command: str = "",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmarks `names` (all by default); the result as plain data.

    Raises:
        ConfigError: an unknown benchmark name.
    """
    chosen = list(names or BENCHMARKS)
    known = (*BENCHMARKS, *ON_REQUEST)
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise ConfigError(f"unknown benchmark {', '.join(unknown)}; use {', '.join(known)}")
    started = datetime.now(UTC)
    begin = time.perf_counter()
    results = []
    for name in chosen:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        result = _runner(name)(quick)
        results.append(msgspec.structs.replace(result, wall_s=time.perf_counter() - start))
    return {
        "command": command,
        "quick": quick,
        "started": started.isoformat(timespec="seconds"),
        "wall_s": time.perf_counter() - begin,
        "machine": machine(),
        "benchmarks": msgspec.to_builtins(results),
    }


def _number(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    magnitude = abs(value)
    if magnitude >= 1_000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.3f}"
    return f"{value:.2g}"


def format_table(suite: dict[str, Any]) -> str:
    """The suite as a Markdown table: figure, value, reference, ratio, target, met."""
    rows = [
        "| figure | value | unit | reference (same run) | ref. value | ratio | target | met |",
        "| --- | ---: | --- | --- | ---: | ---: | --- | --- |",
    ]
    for bench in suite["benchmarks"]:
        for f in bench["figures"]:
            met = {True: "met", False: "MISSED", None: ""}[f["met"]]
            rows.append(
                f"| {f['name']} | {_number(f['value'])} | {f['unit']} | {f['reference']} | "
                f"{_number(f['reference_value'])} | {_number(f['ratio'])} | "
                f"{f['target'] or ''} | {met} |"
            )
    m = suite["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    walls = ", ".join(f"{b['name']} {b['wall_s']:.0f} s" for b in suite["benchmarks"])
    return "\n".join(
        [
            *rows,
            "",
            f"machine: {m['platform']}, {m['cpu_count']} CPUs, Python {m['python']}; {versions}",
            f"wall time {suite['wall_s']:.0f} s ({walls}); {'quick' if suite['quick'] else 'full'}",
        ]
    )
