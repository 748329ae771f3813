"""The demo benchmark gives its wall and CPU figures, each against the simulation alone."""

from __future__ import annotations

from typing import Any

import pytest

import warnlink.benchmarks.demo as bench


def test_the_demo_figure_has_wall_and_cpu_beside_their_references(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fake_demo(**_: Any) -> dict[str, Any]:
        sum(range(200_000))  # some CPU, so that neither time is zero
        return {"leaks": 0}

    monkeypatch.setattr(bench, "run_demo", fake_demo)
    monkeypatch.setattr(bench, "_simulate", lambda: sum(range(100_000)))
    result = bench.run(quick=True)
    wall, cpu = result.figures
    assert (wall.name, cpu.name) == ("demo.wall", "demo.cpu")
    for fig in (wall, cpu):
        assert fig.value > 0.0
        assert fig.reference_value > 0.0
        assert fig.ratio == pytest.approx(fig.value / fig.reference_value)
        assert fig.target == "<= 3x"
        assert fig.met is (fig.value <= bench.TARGET_RATIO * fig.reference_value)
    assert result.inputs["leaks"] == 0
