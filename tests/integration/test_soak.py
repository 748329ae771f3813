"""The soak (case 7) at a tiny size against real processes: nothing lost, applied twice,
out of order or leaked, and every window reported (its figures are for `warnlink
faults`; tests assert no wall-clock times)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from warnlink.faults import QUICK, run_faults, table
from warnlink.faults.soak import WINDOWS

pytestmark = [pytest.mark.nats, pytest.mark.slow]


async def test_a_short_soak_loses_nothing_and_reports_its_windows(tmp_path: Path) -> None:
    tiny = dataclasses.replace(QUICK, rate_per_s=5.0, soak_s=10.0, soak_drain_s=60.0)
    (result,) = await run_faults([7], tiny, folder=tmp_path)
    assert result.notes["drained"] == "True", table([result])
    assert result.sent > 0
    assert result.delivered == result.due > 0
    assert all(result.met.values()), table([result])
    soak = result.soak
    assert soak is not None
    during = [w for w in soak.windows if w.phase == "soak"]
    assert len(during) == WINDOWS
    assert sum(w.sent for w in soak.windows) == result.sent
    assert sum(w.applied for w in soak.windows) == result.delivered
    assert all(any(name.startswith("relay") for name in w.rss_mb) for w in soak.windows)
    assert set(soak.growth) == set(during[0].rss_mb)
    assert "Soak (case 7)" in table([result])
