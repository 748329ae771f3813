"""Find the line of a dotted key in TOML text, so config errors can point at it.

tomllib reports syntax errors with a line, but a value that parses and is then
refused (unknown party, wrong type) has only its key path, like
``release[1].withhold.JPN``. This walks the text along the same path and returns
the deepest line it can find: the key's own line, else its table's header.
"""

from __future__ import annotations

import re

_SEGMENT = re.compile(r"([^.\[\]]+)(?:\[(\d+)\])?")


def locate_key(text: str, key: str | None) -> int | None:
    """1-based line of `key` (e.g. ``links[1].parties``) in `text`, or None."""
    if not key:
        return None
    lines = text.splitlines()
    found: int | None = None
    path: list[str] = []
    for name, index in _SEGMENT.findall(key):
        path.append(name)
        dotted = re.escape(".".join(path))
        if index:
            header = re.compile(rf"^\s*\[\[\s*{dotted}\s*\]\]")
            hits = [i for i, line in enumerate(lines) if header.match(line)]
            if int(index) >= len(hits):
                break
            found, path = hits[int(index)], [".".join(path)]
            continue
        header = re.compile(rf"^\s*\[\[?\s*{dotted}\s*\]")
        table = next((i for i, line in enumerate(lines) if header.match(line)), None)
        if table is not None:
            found = table
            continue
        line = _assignment(lines, name, 0 if found is None else found)
        if line is None:
            break
        found = line
    return None if found is None else found + 1


def _assignment(lines: list[str], name: str, start: int) -> int | None:
    """The first line from `start` assigning `name`, within the current table."""
    assign = re.compile(rf"(^|[{{,])\s*\"?{re.escape(name)}\"?\s*=")
    for i in range(start, len(lines)):
        if i > start and lines[i].lstrip().startswith("["):
            return None
        if assign.search(lines[i]):
            return i
    return None
