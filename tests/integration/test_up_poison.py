"""Issue 17, finding 1, against a real `warnlink up`: JPN's own node credentials put the
2,000-deep MessagePack map into the relay's inbox; the relay refuses it, audited as
``too_deep``, and goes on relaying ROK's reports to JPN (before: its consumer died on
`RecursionError`, and every later ROK report stayed in its inbox for good)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.running_up import PATIENCE_S, RunningUp, wait_until
from tests.integration.test_up_kill import FED_S, PARTY, post, rok_seen_by, rok_track
from warnlink.demo import default_federation_path
from warnlink.deploy import read_access, relay_audit_path
from warnlink.faults.poison import DEEP_MAP
from warnlink.model.time import NS_PER_S
from warnlink.sharing.audit import read_entries
from warnlink.sharing.federation import load_federation
from warnlink.sharing.subjects import relay_inbox

pytestmark = [pytest.mark.nats, pytest.mark.slow]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[RunningUp]:
    running = RunningUp.start(tmp_path / "data")
    yield running
    running.stop()


async def test_jpns_poison_at_the_relay_costs_a_counter_and_rok_still_reaches_jpn(
    up: RunningUp,
) -> None:
    federation = load_federation(default_federation_path())
    bus = await read_access(up.data, "JPN").connect(federation, role="node")
    try:
        await bus.publish(relay_inbox("USA", "JPN"), DEEP_MAP, msg_id="poison-deep-map")
    finally:
        await bus.close()

    def refused() -> list[str]:
        audit = relay_audit_path(up.data, "USA")
        return [e.reason for e in read_entries(audit) if e.outcome == "rejected"]

    assert wait_until("the relay refused the poison", refused) == ["too_deep"]
    source = up.add_source(PARTY, "kamd-c2")
    track = rok_track(time.time_ns() - round(sum(FED_S) / 2 * NS_PER_S))[:20]
    with httpx.Client(verify=up.source_tls(source), timeout=PATIENCE_S) as client:
        assert post(client, up.http(PARTY), track)["accepted"] == len(track)
    wait_until("ROK's reports at JPN, through the relay", lambda: rok_seen_by(up, "JPN")[0])
