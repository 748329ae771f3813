"""The accuracy targets of the issue, judged on the pooled figures of `run.run_accuracy`.

- IPP error 1-sigma (RMS over seeds and launches) <= 5 km at 60 s and <= 2 km at 120 s
  after burnout, for IRBM flights (scenarios whose every launch is of the IRBM range class
  by ground range), per originator;
- 95 % ellipse coverage within 95 % +- 3 %, per scenario over every originator's IPPs;
- launch point error (RMS) <= 5 km, per scenario and originator;
- first launch report at every party within 1 s of the first track report issued anywhere
  (worst over seeds and launches), per scenario and party;
- the estimator at least 10 times Stone Soup's updates per second, with a position RMSE no
  worse than Stone Soup's (within `RMSE_TOLERANCE`, for rounding), per scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

IPP_LIMITS_KM: Final = {"60": 5.0, "120": 2.0}
COVERAGE: Final = 0.95
COVERAGE_TOLERANCE: Final = 0.03
LAUNCH_POINT_KM: Final = 5.0
LAUNCH_REPORT_DELAY_S: Final = 1.0
THROUGHPUT_RATIO: Final = 10.0
RMSE_TOLERANCE: Final = 1.01
"""warnlink's RMSE may exceed Stone Soup's by 1 % and still count as no worse."""


def _verdict(
    target: str, scenario: str, who: str | None, value: float | None, limit: str, met: bool | None
) -> dict[str, Any]:
    return {
        "target": target,
        "scenario": scenario,
        "who": who,
        "value": value,
        "limit": limit,
        "met": met,
    }


def judge(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every target checked on every scenario it applies to; `met` None where not measured."""
    verdicts: list[dict[str, Any]] = []
    for s in result["scenarios"]:
        name = s["scenario"]
        if s.get("irbm"):
            for originator, figures in s["by_originator"].items():
                for after, limit in IPP_LIMITS_KM.items():
                    rms = figures["ipp_after_burnout"][after]["error_km"]["rms"]
                    verdicts.append(
                        _verdict(
                            f"IPP 1-sigma at burnout+{after} s",
                            name,
                            originator,
                            rms,
                            f"<= {limit} km",
                            None if rms is None else rms <= limit,
                        )
                    )
        coverage = s["coverage_95_all"]
        verdicts.append(
            _verdict(
                "95% ellipse coverage",
                name,
                None,
                coverage,
                f"{COVERAGE:.2f} +- {COVERAGE_TOLERANCE:.2f}",
                None if coverage is None else abs(coverage - COVERAGE) <= COVERAGE_TOLERANCE,
            )
        )
        for originator, figures in s["by_originator"].items():
            rms = figures["launch_point_error_km"]["rms"]
            verdicts.append(
                _verdict(
                    "launch point error (RMS)",
                    name,
                    originator,
                    rms,
                    f"<= {LAUNCH_POINT_KM} km",
                    None if rms is None else rms <= LAUNCH_POINT_KM,
                )
            )
        for party, seen in s["first_launch_report"].items():
            worst = seen["delay_after_first_track_s"]["max"]
            never = seen["never"] > 0
            verdicts.append(
                _verdict(
                    "first launch report after first track (worst)",
                    name,
                    party,
                    worst,
                    f"<= {LAUNCH_REPORT_DELAY_S} s",
                    False if never else None if worst is None else worst <= LAUNCH_REPORT_DELAY_S,
                )
            )
        reference = s["reference"]
        if isinstance(reference.get("stonesoup"), dict):
            ratio = reference["throughput_ratio"]
            rmse_ok = (
                reference["warnlink"]["rmse_m"] <= RMSE_TOLERANCE * reference["stonesoup"]["rmse_m"]
            )
            verdicts.append(
                _verdict(
                    "throughput vs Stone Soup at no worse RMSE",
                    name,
                    reference["party"],
                    ratio,
                    f">= {THROUGHPUT_RATIO}x",
                    ratio >= THROUGHPUT_RATIO and rmse_ok,
                )
            )
    return verdicts
