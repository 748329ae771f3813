"""Nothing a node acknowledged is lost across a kill -9 mid-feed, and nothing is applied twice.

ROK's C2 system feeds ROK's tracker states over HTTPS in batches, each 2xx noted; right
after one 2xx (while the node still hands the records on) ROK's node process is killed
with SIGKILL, and the feed goes on into the dead port. `warnlink up` does not restart a
node process (`deploy.Deployment` only reports it in its health), so the test restarts
it as `up` started it (``warnlink party ROK --role node`` on the same data folder). Then:

- every acknowledged record is in the node's journal (``ROK/ingest-ROK.sqlite``),
  read between the kill and the restart;
- sent again, every acknowledged batch is answered as duplicates, and the batches never
  acknowledged are taken;
- every record reaches the other parties (USA directly, JPN through USA's relay), and
  records sent once more are applied nowhere: a fresh record sent after them arrives
  alone;
- once the node stops, its journal has handed everything on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from tests.integration.running_up import PATIENCE_S, RunningUp, wait_until
from warnlink.demo import default_federation_path
from warnlink.deploy import ENDPOINTS_FILE
from warnlink.errors import StoreError
from warnlink.model.record import SourceRecord
from warnlink.model.time import NS_PER_S, utc_ns_to_iso
from warnlink.runtime import journal_in
from warnlink.sim.scenario import default_scenario_path, load_scenario, simulate_scenario
from warnlink.sources.journal import Entry
from warnlink.sources.simulation import SimulatedSource, simulate_trackers
from warnlink.sources.udl_encode import udl_body
from warnlink.web.ingest import INGEST_PATH

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PARTY: Final = "ROK"
FED_S: Final = (100.0, 500.0)  # scenario seconds: around now, inside the window
BATCH: Final = 3
#: Batches of `BATCH` acknowledged before the big one after whose 2xx the node is
#: killed: it is still handing that one on (some milliseconds a record).
SMALL_BEFORE: Final = 8
BIG: Final = 120


def rok_track(epoch_ns: int) -> list[SourceRecord]:
    """ROK's simulated tracker of the default scenario, its states in `FED_S`."""
    scenario = load_scenario(default_scenario_path())
    (estimates,) = simulate_trackers(scenario, simulate_scenario(scenario), [PARTY], 2).values()
    fed = [e for e in estimates if FED_S[0] <= e.time_s <= FED_S[1]]
    tracker = SimulatedSource(PARTY, fed, epoch_ns)
    return [due.record for due in tracker.due(epoch_ns + 3600 * NS_PER_S)]


def _epoch(record: SourceRecord) -> int:
    return record.epoch_ns


def post(client: httpx.Client, url: str, records: Sequence[SourceRecord]) -> dict[str, Any]:
    response = client.post(
        url + INGEST_PATH.lstrip("/"),
        content=udl_body(records),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def journalled(data: Path) -> tuple[list[Entry], list[Entry]]:
    """ROK's journal once no process holds it: (handed on, pending)."""

    def read() -> tuple[list[Entry], list[Entry]] | None:
        try:
            journal = journal_in(data / PARTY, PARTY)
        except StoreError:  # locked: the process is not gone yet
            return None
        try:
            return journal.done_since(0), journal.pending()
        finally:
            journal.close()

    return wait_until("ROK's journal free", read)


def rok_seen_by(up: RunningUp, party: str) -> tuple[int, str | None]:
    """ROK's track in `party`'s picture: (track reports applied, its latest state's time)."""
    rok = [
        c for e in up.state(party)["events"] for c in e["contributions"] if c["originator"] == PARTY
    ]
    if len(rok) != 1:
        return 0, None
    track = rok[0]["track"]
    return rok[0]["track_reports"], None if track is None else track["time"]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[RunningUp]:
    running = RunningUp.start(tmp_path / "data")
    yield running
    running.stop()


@pytest.fixture
def restarted(up: RunningUp) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The node processes the test starts (stopped at the end, as `up` would)."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(PATIENCE_S)


def restart_node(up: RunningUp, started: list[subprocess.Popen[bytes]]) -> None:
    """ROK's node as `up` starts it; `up.endpoints` updated once it listens."""
    log = (up.data / PARTY / "node-restarted.log").open("ab")
    command = [sys.executable, "-m", "warnlink", "party", PARTY, "--role", "node"]
    command += ["--config", str(default_federation_path()), "--data", str(up.data)]
    command += ["--host", "127.0.0.1", "--http-port", "0", "--cot-port", "0"]
    with log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    started.append(process)

    def listening() -> dict[str, Any] | None:
        assert process.poll() is None, "the restarted node ended"
        try:
            said: dict[str, Any] = json.loads((up.data / PARTY / ENDPOINTS_FILE).read_text())
        except (OSError, ValueError):
            return None
        return said if said.get("pid") == process.pid else None

    up.endpoints[PARTY] = {k: str(v) for k, v in wait_until("ROK's node again", listening).items()}


def test_nothing_acknowledged_is_lost_across_a_kill_and_nothing_is_applied_twice(
    up: RunningUp, restarted: list[subprocess.Popen[bytes]]
) -> None:
    source = up.add_source(PARTY, "kamd-c2")
    track = sorted(rok_track(time.time_ns() - round(sum(FED_S) / 2 * NS_PER_S)), key=_epoch)
    # Two fresh states, each later than everything before it (two radars can see the
    # missile at one epoch): each is known to have arrived when it is the latest.
    fresh2 = track[-1]
    fresh1 = max((r for r in track if r.epoch_ns < fresh2.epoch_ns), key=_epoch)
    fed = [r for r in track if r.epoch_ns < fresh1.epoch_ns]
    small = SMALL_BEFORE * BATCH
    assert len(fed) > small + BIG + BATCH
    batches = [fed[i : i + BATCH] for i in range(0, small, BATCH)] + [fed[small : small + BIG]]
    batches += [fed[i : i + BATCH] for i in range(small + BIG, len(fed), BATCH)]
    kill_after = SMALL_BEFORE + 1
    pid = int(json.loads((up.data / PARTY / ENDPOINTS_FILE).read_text())["pid"])

    acked: list[bool] = []
    with httpx.Client(verify=up.source_tls(source), timeout=PATIENCE_S) as client:
        for batch in batches:
            try:
                answer = post(client, up.http(PARTY), batch)
            except httpx.TransportError:
                acked.append(False)
                continue
            acked.append(answer == {"accepted": len(batch), "duplicates": 0, "refused": []})
            if len(acked) == kill_after:
                os.kill(pid, signal.SIGKILL)  # right after the 2xx: mid-feed
    assert acked[:kill_after] == [True] * kill_after
    assert not any(acked[kill_after + 1 :])  # the port is dead

    done, pending = journalled(up.data)
    held = {(e.record.track_id, e.record.epoch_ns) for e in done + pending}
    for batch, ok in zip(batches, acked, strict=True):
        if ok:
            assert {(r.track_id, r.epoch_ns) for r in batch} <= held
    assert pending, "the kill came after the node had handed everything on: no test"

    restart_node(up, restarted)
    with httpx.Client(verify=up.source_tls(source), timeout=PATIENCE_S) as client:

        def send_all_again() -> None:
            for batch, ok in zip(batches, acked, strict=True):
                answer = post(client, up.http(PARTY), batch)
                assert answer["accepted"] + answer["duplicates"] == len(batch)
                if ok:
                    assert answer["duplicates"] == len(batch)

        def arrived(record: SourceRecord) -> dict[str, int]:
            """Once `record`, the latest sent, is every other party's latest of ROK's
            track: the reports each holds (everything sent before it came first)."""
            latest = utc_ns_to_iso(record.epoch_ns)
            return {
                party: wait_until(
                    f"ROK's {latest} at {party}",
                    lambda party=party: rok_seen_by(up, party),  # type: ignore[misc]
                    lambda seen: seen[1] == latest,
                )[0]
                for party in ("USA", "JPN")
            }

        send_all_again()  # the unacknowledged batches are taken now
        assert post(client, up.http(PARTY), [fresh1])["accepted"] == 1
        before = arrived(fresh1)
        assert min(before.values()) >= len(fed) + 1  # nothing acknowledged was lost
        send_all_again()  # all repeats now
        assert post(client, up.http(PARTY), [fresh2])["accepted"] == 1
        assert arrived(fresh2) == {party: n + 1 for party, n in before.items()}

    for process in restarted:
        process.send_signal(signal.SIGTERM)
        assert process.wait(PATIENCE_S) == 0
    done, pending = journalled(up.data)
    assert (len(done), pending) == (len(fed) + 2, [])
