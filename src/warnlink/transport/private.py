"""Files and folders only their owner may read: what warnlink writes into a data folder.

Stores and logs hold full payloads (another party's sensors, tracks and covariances
released to this party alone) and audit records; outputs (CAP, exports) hold the
picture. Every one of them is created, or found, as 0600 in a folder of 0700, whatever
the process's umask: one helper, used by every writer, rather than a chmod at each.
SQLite's own files (``-wal``, ``-shm``) take the mode of their database file; those
left by an older version are tightened when the store opens (`private_sqlite`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

FILE_MODE: Final = 0o600
FOLDER_MODE: Final = 0o700
_SQLITE_COMPANIONS: Final = ("-wal", "-shm", "-journal")


def private_folder(path: Path) -> Path:
    """`path` as a folder of mode 0700; the folders it creates on the way are 0700 too
    (folders that were there before, above `path`, are left as they are)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
    for folder in {path, *missing}:
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """`path` as a file of mode 0600, created empty if missing (its folder must exist).

    Call it before writing, appending or renaming over: the file is never readable by
    others, not even between its creation and a chmod.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (replacing what is there) as a 0600 file in a 0700 folder."""
    private_folder(path.parent)
    private_file(path).write_bytes(data)


def private_sqlite(location: str) -> None:
    """Make a SQLite database file and its companions 0600 (``:memory:`` is none)."""
    if location == ":memory:":
        return
    database = Path(location)
    private_file(database)
    for suffix in _SQLITE_COMPANIONS:
        companion = database.with_name(database.name + suffix)
        if companion.exists():
            os.chmod(companion, FILE_MODE)
