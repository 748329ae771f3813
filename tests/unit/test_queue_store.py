"""A queue store takes a consumer batch's messages in one write, in order, intact."""

from __future__ import annotations

from pathlib import Path

from warnlink.transport.queue_store import MemoryQueueStore, SqliteQueueStore


def test_many_appended_at_once_read_back_in_order_intact_after_a_reopen(tmp_path: Path) -> None:
    store = SqliteQueueStore(tmp_path / "log.sqlite", what="applied-log")
    store.append("", "m0", b"zero", 1)
    store.append_many([("", "m1", b"one"), ("s", "m2", b"two")], 2)
    store.append_many([], 3)
    store.sync()
    store.close()
    again = SqliteQueueStore(tmp_path / "log.sqlite", what="applied-log")
    entries = again.entries()
    again.close()
    assert [(e.subject, e.msg_id, e.data, e.time_ns) for e in entries] == [
        ("", "m0", b"zero", 1),
        ("", "m1", b"one", 2),
        ("s", "m2", b"two", 2),
    ]
    assert all(e.intact for e in entries)


def test_the_memory_store_appends_many_alike() -> None:
    store = MemoryQueueStore()
    store.append_many([("", "m1", b"one"), ("", "m2", b"two")], 5)
    assert [(e.msg_id, e.time_ns) for e in store.entries()] == [("m1", 5), ("m2", 5)]
