"""The demo's stores: in memory for a throwaway run, durable files in a given folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from warnlink.demo import run_demo
from warnlink.transport import sqlite_log

DATA = Path(__file__).resolve().parents[1] / "data"
SHORT = DATA / "routing_short.toml"


class _Stop(Exception):
    """Ends a run once every store is open (they all open before the first second)."""


def _stop(second: int, nodes: object) -> None:
    raise _Stop


def _recording_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    open_store = sqlite_log.open_store

    def recording(location: str, **kwargs: Any) -> Any:
        opened.append(location)
        return open_store(location, **kwargs)

    for module in _modules_opening_stores():
        monkeypatch.setattr(module, "open_store", recording)
    return opened


def _modules_opening_stores() -> list[Any]:
    from warnlink.sharing import replay
    from warnlink.sources import journal
    from warnlink.transport import dead_letters, queue_store

    return [sqlite_log, queue_store, dead_letters, replay, journal]


async def test_a_run_without_a_data_folder_keeps_its_stores_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = _recording_opens(monkeypatch)
    with pytest.raises(_Stop):
        await run_demo(scenario_path=SHORT, seed=1, observe=_stop)
    assert opened  # the bus log at least
    assert set(opened) == {":memory:"}


async def test_a_run_in_a_data_folder_keeps_durable_files_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _recording_opens(monkeypatch)
    folder = tmp_path / "demo"
    with pytest.raises(_Stop):
        await run_demo(scenario_path=SHORT, seed=1, data_dir=folder, observe=_stop)
    assert opened
    assert all(Path(location).parent.is_relative_to(folder) for location in opened)
    assert (folder / "outbox-USA.sqlite").exists()
