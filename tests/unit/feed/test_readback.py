"""What `warnlink feed` reads of a running federation's data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import T0, party_state
from warnlink.alerting.cap import to_cap
from warnlink.errors import ConfigError, TransportError
from warnlink.feed.readback import applied_entries, read_alerts, source_files, wait_endpoints
from warnlink.feed.summary import alert_summary
from warnlink.feed.timeline import Timeline
from warnlink.model.time import NS_PER_S
from warnlink.security.certs import CERTS_DIR, init_certs
from warnlink.sources.registry import read_registry
from warnlink.transport.queue_store import SqliteQueueStore

WHERE = {"http": "https://127.0.0.1:1/", "nats": "nats://127.0.0.1:2", "cot": "127.0.0.1:3"}


def test_the_applied_log_is_read_while_its_node_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "JPN" / "applied-JPN.sqlite"
    store = SqliteQueueStore(path, what="applied-log")  # locked, as by a running node
    try:
        for i in range(3):
            store.append("", f"m{i}", b"x" * 10, i)
        assert [e.msg_id for e in applied_entries(tmp_path, "JPN")] == ["m0", "m1", "m2"]
        # After a checkpoint some entries are in the database file, later ones in the log.
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.append("", "m3", b"y", 3)
        found = applied_entries(tmp_path, "JPN")
        assert [e.msg_id for e in found] == ["m0", "m1", "m2", "m3"]
        assert all(e.intact for e in found)
        store.append("", "m4", b"z", 4)  # the store is still the node's
    finally:
        store.close()


async def test_endpoints_are_waited_for_and_an_earlier_runs_are_not_taken(
    tmp_path: Path,
) -> None:
    with pytest.raises(TransportError, match="start `warnlink up"):
        await wait_endpoints(tmp_path, ("ROK",), 0.3)
    (tmp_path / "ROK").mkdir()
    (tmp_path / "endpoints.json").write_text(json.dumps({"ROK": WHERE}))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])  # a node process of before
    ended.wait()
    (tmp_path / "ROK" / "endpoints.json").write_text(json.dumps({**WHERE, "pid": ended.pid}))
    with pytest.raises(TransportError):
        await wait_endpoints(tmp_path, ("ROK",), 0.3)
    (tmp_path / "ROK" / "endpoints.json").write_text(json.dumps({**WHERE, "pid": os.getpid()}))
    assert await wait_endpoints(tmp_path, ("ROK",), 0.3) == {"ROK": WHERE}


def test_the_feeds_source_is_registered_once_and_reused(tmp_path: Path) -> None:
    init_certs(tmp_path / CERTS_DIR, ["ROK"])
    cert, key = source_files(tmp_path, "ROK", "feed-rok", now_ns=time.time_ns())
    assert cert.is_file()
    assert key.is_file()
    again = source_files(tmp_path, "ROK", "feed-rok", now_ns=time.time_ns())
    assert again == (cert, key)
    (entry,) = read_registry(tmp_path, "ROK")
    assert (entry.name, entry.data_mode.value, entry.live) == ("feed-rok", "SIMULATED", True)
    cert.unlink()
    with pytest.raises(ConfigError, match="sources revoke ROK feed-rok"):
        source_files(tmp_path, "ROK", "feed-rok", now_ns=time.time_ns())


def test_the_alerts_are_read_from_the_cap_files(tmp_path: Path) -> None:
    state = party_state("JPN")
    (alert,) = state.alerts.update(state.picture, state.clock.now_ns())
    folder = tmp_path / "JPN" / "cap"
    folder.mkdir(parents=True)
    (folder / f"{alert.identifier}.xml").write_bytes(to_cap(alert))
    (folder / "half-written.xml").write_bytes(b"<alert")
    (read,) = read_alerts(tmp_path, "JPN")
    timeline = Timeline(epoch_ns=T0 - 100 * NS_PER_S, until_s=800.0, end_ns=T0)
    assert alert_summary(read, timeline) == {
        "identifier": "warnlink-JPN-JPN-E1-JPN_eez-impact-1",
        "data_mode": "REAL",
        "status": "Actual",
        "msg_type": "Alert",
        "reason": "issued",
        "event": "JPN-E1",
        "area": "JPN eez",
        "kind": "impact",
        "probability": 1.0,
        "sent_s": 100.0,
        "lead_time_s": 600.0,
    }
