"""`warnlink feed` into a running `warnlink up`: the parties' national systems, simulated,
feed their nodes through the real ports, and every party is warned.

`up` runs as a process on free ports; `feed` runs as another, finds it by its
``endpoints.json``, registers a source per party and plays the default scenario in real
time over one port (UDL over HTTPS, UDL over NATS, or CoT) up to 105 s after launch:
by then every party's tracker has reported a launch and an impact prediction (L+42 s to
L+94 s in the demo) and JPN, in whose EEZ the missile falls, has been alerted
(L+90 s). About 70 s of playback a run, and `up`'s start and stop.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PATIENCE_S = 240.0  # a guard against a hang, never expected to elapse
PARTIES = ("ROK", "JPN", "USA")
#: Scenario seconds: the launch is at 60 s, the first record falls due at 102 s.
UNTIL_S = 165


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    with (tmp_path / "up.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "warnlink", "up", "--data", str(data), "--port", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield data
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(PATIENCE_S)


def _feed(data: Path, via: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "warnlink",
            "feed",
            "--data",
            str(data),
            "--via",
            via,
            "--until",
            str(UNTIL_S),
            "--tail",
            "5",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=False,
    )
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


@pytest.mark.parametrize("via", ["http", "nats", "cot"])
def test_every_party_is_warned_of_the_fed_missile_without_a_leak(up: Path, via: str) -> None:
    status, summary, said = _feed(up, via)
    assert status == 0, said
    assert summary["via"] == via
    assert summary["complete"]
    assert summary["leaks"] == 0
    assert summary["deliveries_checked"] > 0
    for party in PARTIES:
        info = summary["parties"][party]
        sent = info["sent"]
        assert sent["records"] > 0
        assert (sent["failed"], sent["refused"]) == (0, {})
        if via != "cot":  # CoT has no acknowledgement
            assert sent["accepted"] == sent["records"]
        (event,) = info["events"]
        assert event["data_mode"] == "SIMULATED"
        assert event["originators"] == sorted(PARTIES)
        assert event["first_launch_report_after_launch_s"] < 90
        assert event["first_impact_prediction_after_launch_s"] < 110
        # Early in the flight the prediction is coarse, and says so: the truth lies
        # within its 95 % ellipse's half-length.
        ipp = event["impact_prediction"]
        assert event["impact_error_km"] < ipp["semi_major_km"]
        assert abs(event["impact_time_error_s"]) < 20.0
    alerts = summary["parties"]["JPN"]["alerts"]
    assert alerts[0]["msg_type"] == "Alert"
    assert {(a["event"], a["area"], a["data_mode"]) for a in alerts} == {
        ("JPN-E1", "JPN eez", "SIMULATED")
    }
    assert {a["status"] for a in alerts} == {"Test"}  # CAP: only real data is Actual
    assert summary["parties"]["ROK"]["alerts"] == []
