"""Plain-text tables of an accuracy result (`run.run_accuracy`), for a terminal or a doc."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from warnlink.accuracy.run import AFTER_BURNOUT_S
from warnlink.errors import ConfigError


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pair(stats: Mapping[str, Any], digits: int = 1, first: str = "rms") -> str:
    """RMS (or `first`) / 95th percentile, or '-' when there were no values."""
    if not stats["n"]:
        return "-"
    return f"{_num(stats[first], digits)} / {_num(stats['p95'], digits)}"


def _row(cells: list[str], widths: list[int]) -> str:
    return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [_row(header, widths), *(_row(r, widths) for r in rows)]


def _scenario_lines(s: Mapping[str, Any]) -> list[str]:
    seeds = len(s["seeds"])
    lines = [
        f"scenario {s['scenario']} ({s['file']}): {s['launches']} launch(es) x {seeds} seed(s), "
        f"leaks {s['leaks']}",
        f"  first track report issued anywhere: {_num(s['first_track_anywhere_s']['mean'])} s "
        "after launch (mean)",
    ]
    lines += _grid(
        [
            "party",
            "first launch report s (mean / worst)",
            "after first track s (worst)",
            "after first issued s (worst)",
            "never",
        ],
        [
            [
                party,
                f"{_num(seen['first_launch_report_s']['mean'])} / "
                f"{_num(seen['first_launch_report_s']['max'])}",
                _num(seen["delay_after_first_track_s"]["max"]),
                _num(seen["delay_after_first_issued_s"]["max"]),
                str(seen["never"]),
            ]
            for party, seen in s["first_launch_report"].items()
        ],
    )
    afters = [f"{a:.0f}" for a in AFTER_BURNOUT_S]
    rows = []
    for originator, f in s["by_originator"].items():
        ipp = f["ipp_after_burnout"]
        rows.append(
            [
                originator,
                *(
                    _pair(ipp[a]["error_km"], 2)
                    + (f" ({ipp[a]['missing']} none)" if ipp[a]["missing"] else "")
                    for a in afters
                ),
                _pair(ipp["60"]["impact_time_error_s"], 1),
                f"{_num(f['coverage_95'], 3)} ({f['impact_predictions']})",
                _num(f["ellipse_mahalanobis2_mean"], 2),
                _pair(f["launch_point_error_km"], 2),
                _pair(f["launch_time_error_s"], 1),
            ]
        )
    lines.append("  IPP error km and times s as RMS (1-sigma) / 95th percentile; by originator")
    lines += _grid(
        [
            "originator",
            *(f"IPP @BO+{a}s km" for a in afters),
            "impact t @BO+60s s",
            "coverage (IPPs)",
            "mean d2 (2)",
            "launch pt km",
            "launch t s",
        ],
        rows,
    )
    lines.append(f"  all originators' coverage of the 95% ellipse: {_num(s['coverage_95_all'], 3)}")
    lines.append(
        f"  pictures (GOSPA cut-off {s['gospa_cutoff_m'] / 1000:.0f} km, p = 2, alpha = 2)"
    )
    lines += _grid(
        ["party", "GOSPA m (mean / p95)", "missed", "false", "dual-track rate", "truth samples"],
        [
            [
                party,
                _pair(p["gospa_m"], 0, "mean"),
                _num(p["mean_missed"], 2),
                _num(p["mean_false"], 2),
                _num(p["dual_track_rate"], 3),
                str(p["truth_samples"]),
            ]
            for party, p in s["pictures"].items()
        ],
    )
    lines.append(_reference_line(s["reference"]))
    return lines


def _reference_line(ref: Mapping[str, Any]) -> str:
    if ref.get("party") is None:
        return "  reference: no radar plots after burnout"
    head = f"  reference ({ref['party']} radars, first launch, {ref['plots']} plots): "
    own = ref["warnlink"]
    text = head + (f"warnlink {own['updates_per_s']:.0f} updates/s, RMSE {own['rmse_m']:.0f} m; ")
    other = ref["stonesoup"]
    if not isinstance(other, dict):
        return text + "stonesoup: not installed"
    return text + (
        f"Stone Soup UKF {other['updates_per_s']:.0f} updates/s, RMSE {other['rmse_m']:.0f} m; "
        f"ratio {ref['throughput_ratio']:.1f}x"
    )


def format_accuracy(result: Mapping[str, Any]) -> str:
    """The whole result: one block per scenario, then the targets met and missed."""
    machine = result["machine"]
    lines = [
        f"warnlink accuracy: seeds {result['seeds']}, stonesoup {result['stonesoup']}, "
        f"runtime {result['runtime_s']:.0f} s",
        f"machine: {machine['platform']}, {machine['cpus']} cpus, python {machine['python']}, "
        f"numpy {machine['numpy']}",
        "",
    ]
    for scenario in result["scenarios"]:
        lines += [*_scenario_lines(scenario), ""]
    lines.append("targets")
    for v in result["targets"]:
        state = {True: "met", False: "MISSED", None: "n/a"}[v["met"]]
        who = f" {v['who']}" if v["who"] else ""
        lines.append(
            f"  [{state}] {v['target']}: {v['scenario']}{who} = {_num(v['value'], 3)} "
            f"(target {v['limit']})"
        )
    return "\n".join(lines)


BEGIN: Final = "<!-- accuracy table: begin (generated by `make accuracy-doc`) -->"
END: Final = "<!-- accuracy table: end -->"


def replace_table(markdown: str, table: str, command: str) -> str:
    """The Markdown with the text between `BEGIN` and `END` replaced by the command and table.

    Raises:
        ConfigError: if the markers are missing or out of order.
    """
    start, stop = markdown.find(BEGIN), markdown.find(END)
    if start < 0 or stop < start:
        raise ConfigError(f"the document has no {BEGIN!r} ... {END!r} block")
    block = f"{BEGIN}\n\n```\n$ {command}\n{table}\n```\n\n"
    return markdown[:start] + block + markdown[stop:]
