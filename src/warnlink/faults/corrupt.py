"""Damaging a durable store the way a disk or a stray write would: one byte changed.

`flip_byte` changes one byte inside a stored message of a closed `SqliteQueueStore`
file (the applied-log, an outbox, the sent-archive) by editing the file's bytes, not
through SQLite: the page structure stays valid, so SQLite reads the changed message
back without complaint, and only the store's own digest can tell (the hard case; a byte
in a page header SQLite reports itself, as a `StoreError` at open or read).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from warnlink.errors import StoreError


def flip_byte(path: Path, entry_id: int) -> list[tuple[str, int]]:
    """Flip the lowest bit of the middle byte of entry `entry_id`'s data in the closed
    store `path`, wherever the file (and its write-ahead log, if any) holds it.

    Returns:
        (file name, offset) of every byte changed.

    Raises:
        StoreError: the entry is not in the store, or its data is not found in the files.
    """
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT data FROM queue WHERE id = ?", (entry_id,)).fetchone()
    conn.close()
    if row is None:
        raise StoreError(f"{path}: no entry {entry_id}")
    data = bytes(row[0])
    changed = []
    for file in (path, path.with_name(path.name + "-wal")):
        if not file.exists():
            continue
        content = bytearray(file.read_bytes())
        start = content.find(data)
        while start >= 0:
            offset = start + len(data) // 2
            content[offset] ^= 0x01
            changed.append((file.name, offset))
            start = content.find(data, start + len(data))
        file.write_bytes(bytes(content))
    if not changed:
        raise StoreError(f"{path}: entry {entry_id}'s data is not stored in one piece")
    return changed
