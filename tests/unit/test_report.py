"""The text summary marks data that is not real, event by event and alert by alert."""

from __future__ import annotations

from typing import Any

from warnlink.report import _alert_lines, _event_lines


def _event(mode: str | None) -> dict[str, Any]:
    return {
        "event_id": "JPN-E1",
        "data_mode": mode,
        "originators": ["ROK"],
        "track_reports": 3,
        "by_originator": {},
    }


def _alert(mode: str) -> dict[str, Any]:
    return {
        "msg_type": "Alert",
        "reason": "issued",
        "sent_s": 150.0,
        "kind": "impact",
        "event": "JPN-E1",
        "area": "JPN eez",
        "probability": 1.0,
        "lead_time_s": 650.0,
        "data_mode": mode,
    }


def test_exercise_and_simulated_data_are_marked_and_real_data_is_not() -> None:
    assert _event_lines(_event("EXERCISE"))[0].startswith("  event JPN-E1 [EXERCISE]: from ROK")
    assert _event_lines(_event("REAL"))[0].startswith("  event JPN-E1: from ROK")
    assert _event_lines(_event(None))[0].startswith("  event JPN-E1: from ROK")
    assert _alert_lines([_alert("SIMULATED")])[0].startswith("  alert [SIMULATED] Alert (issued)")
    assert _alert_lines([_alert("REAL")])[0].startswith("  alert Alert (issued)")
