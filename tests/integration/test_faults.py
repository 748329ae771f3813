"""The fault suite's quick cases against real processes: nothing lost, nothing applied
twice, nothing out of order, nothing leaked, and the flow back after the fault (how
soon is a figure for `warnlink faults`, not asserted here: tests assert no wall-clock
times)."""

from __future__ import annotations

from pathlib import Path

import pytest

from warnlink.faults import QUICK, CaseResult, run_faults, table

pytestmark = pytest.mark.nats


def _assert_met(results: list[CaseResult]) -> None:
    """Every target but the resume time met; the flow resumed."""
    missed = {
        f"{r.case} {r.name}": r.met
        for r in results
        if not all(ok for target, ok in r.met.items() if target != "resume")
    }
    assert not missed, table(results)
    assert all(r.resume_s is not None for r in results if r.outage), table(results)


@pytest.mark.parametrize("case", [1, 2, 3, 5])
async def test_a_fault_loses_nothing_and_the_flow_resumes(case: int, tmp_path: Path) -> None:
    results = await run_faults([case], QUICK, folder=tmp_path)
    assert len(results) == 1
    result = results[0]
    assert result.sent > 0
    assert result.due > 0
    assert result.notes["drained"] == "True"
    _assert_met(results)


async def test_clock_skew_beyond_the_window_is_refused_and_nothing_else_is_lost(
    tmp_path: Path,
) -> None:
    results = await run_faults([4], QUICK, folder=tmp_path)
    kept, refused = results[:2], results[2:]
    assert all(r.refused == 0 for r in kept)
    for r in refused:
        assert r.refused > 0  # every message to or from JPN: counted, not lost
        assert r.delivered == r.due > 0  # ROK <-> USA: all of it
        assert int(r.notes["rejected.replay"]) + int(r.notes["relay.rejected"]) > 0
    _assert_met(results)


async def test_a_damaged_store_is_reported_and_what_it_held_recovered(tmp_path: Path) -> None:
    """Case 6: every changed entry detected, every message it held applied again, once."""
    (result,) = await run_faults([6], QUICK, folder=tmp_path)
    _assert_met([result])
    assert result.notes["applied_log.damaged"] == 3
    assert result.notes["recovered"] == 3
    assert result.notes["recovery.incomplete"] == 0
    assert "3 damaged entries detected, 3 messages recovered" in table([result])


async def test_a_poison_message_from_a_peer_costs_counters_not_the_link(tmp_path: Path) -> None:
    """Case 8 (issue 17, finding 1): JPN's node credentials put the 2,000-deep map and the
    other poison shapes into the relay's inbox and USA's node inbox mid-salvo; the relay
    process lives, nothing ROK sent is lost, and each poison message is one counter."""
    (result,) = await run_faults([8], QUICK, folder=tmp_path)
    _assert_met([result])
    assert result.due > 0
    assert result.lost == 0
    assert result.notes["drained"] == "True"
    assert result.notes["relay_exit"] == "0"  # ran until stopped
    assert result.notes["relay.rejected"] == 4  # every shape, audited once
    assert int(result.notes["rejected.too_deep"]) == 3
    assert int(result.notes["rejected.malformed"]) == 1
