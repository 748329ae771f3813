"""Every store, log and output written into a data folder is its owner's alone (issue 17).

SQLite stores were 0644 and held full payloads: USA's applied-log named ROK's sensors.
Now files are 0600 (SQLite's -wal and -shm too) and folders 0700, whatever the umask.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import party_state, track
from tests.unit.test_sharing_flow import federated
from warnlink.interop.outputs import write_party_outputs
from warnlink.model.record import DataMode
from warnlink.sources.journal import SqliteJournal
from warnlink.transport.queue_store import SqliteQueueStore


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The common default: files 0644 and folders 0755 unless the writer says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    found = {}
    for path in [root, *root.rglob("*")]:
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def _exposed(root: Path) -> dict[str, str]:
    return {
        name: oct(mode)
        for name, mode in _modes(root).items()
        if mode != (0o700 if (root / name).is_dir() else 0o600)
    }


async def test_a_nodes_stores_and_logs_are_0600_in_0700_folders(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with federated(data) as fed:
        await fed.nodes["ROK"].gateway.send(track(sensor="ROK-R1"), data_mode=DataMode.REAL)
        await fed.settle()
        names = set(_modes(data))
        # While open: the stores and their WAL files are there.
        assert any(n.startswith("applied-USA") for n in names)
        assert any(n.endswith("-wal") for n in names)
        assert {"relay-USA.jsonl", "gateway-USA.jsonl"} <= names  # the audit logs
        assert _exposed(data) == {}
    assert _exposed(data) == {}


def test_an_older_store_left_readable_is_tightened_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "sent.sqlite"
    SqliteQueueStore(path, what="sent-archive").close()
    for companion in (path, path.with_name(path.name + "-wal")):
        if companion.exists():
            companion.chmod(0o644)
    tmp_path.chmod(0o755)
    store = SqliteQueueStore(path, what="sent-archive")
    try:
        assert _exposed(tmp_path) == {}
    finally:
        store.close()


def test_the_ingest_journal_and_the_outputs_are_private(tmp_path: Path) -> None:
    SqliteJournal(tmp_path / "journal" / "ingest.sqlite").close()
    assert write_party_outputs(tmp_path / "outputs", party_state()) > 0
    assert _exposed(tmp_path) == {}
