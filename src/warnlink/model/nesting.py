"""Nesting-depth checks of MessagePack and JSON bytes, run before they are parsed.

msgspec (and the standard library's `json`) parse nested containers recursively:
a 6 KB MessagePack map nested 2,000 deep raises `RecursionError`, which is no
`MessageError` and, uncaught, ends the task that decoded it. These scans walk the
bytes without recursion and refuse anything nested deeper than `MAX_DEPTH` with a
typed `NestingTooDeep` before any parser sees it.

Each scan first counts, at C speed, the bytes that *could* open a container: a value
nested `d` deep needs `d` such bytes, so a message with no more of them than the limit
is passed without walking it (most envelopes, every audit line). Only the rest are
walked token by token. Figures: `python -m warnlink.benchmarks.nesting`.
"""

from __future__ import annotations

import re
from typing import Final

from warnlink.errors import NestingTooDeep

#: The deepest nesting a warnlink document needs is 6 (an envelope's payload's
#: covariance rows). 64 leaves room for growth, is far below the ~1,000 frames a
#: recursive parser may use, and keeps every routine envelope on the shortcut: a signed
#: and countersigned report holds 19-48 bytes that look like container openers (900
#: measured), the signatures' random bytes included.
MAX_DEPTH: Final = 64

_MSGPACK_OPENERS: Final = bytes([*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF])
_JSON_TOKENS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)

# Bytes after the type byte of every fixed-size MessagePack token (-1: not fixed).
_FIXED: Final = [-1] * 256
for _b in (*range(0x00, 0x80), *range(0xE0, 0x100), 0xC0, 0xC2, 0xC3):
    _FIXED[_b] = 0
for _b, _size in {
    0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4,
    0xD3: 8, 0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17,
}.items():  # fmt: skip
    _FIXED[_b] = _size
for _b in range(0xA0, 0xC0):
    _FIXED[_b] = _b & 0x1F
# Length-prefixed tokens: (width of the length, extra bytes after it: an ext's type).
_SIZED: Final = {
    0xC4: (1, 0), 0xC5: (2, 0), 0xC6: (4, 0), 0xC7: (1, 1), 0xC8: (2, 1), 0xC9: (4, 1),
    0xD9: (1, 0), 0xDA: (2, 0), 0xDB: (4, 0),
}  # fmt: skip
# Containers with a counted length: (width of the count, items per count).
_COUNTED: Final = {0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}


def check_msgpack_depth(data: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Refuse MessagePack `data` nested deeper than `max_depth`.

    Malformed or truncated bytes are left for the decoder to refuse.

    Raises:
        NestingTooDeep: a container is nested deeper than `max_depth`.
    """
    if len(data) - len(data.translate(None, _MSGPACK_OPENERS)) > max_depth:
        walk_msgpack(data, max_depth)


def walk_msgpack(data: bytes, max_depth: int) -> None:
    """`check_msgpack_depth` without its shortcut: every token walked, no recursion."""
    open_items: list[int] = []  # items still to come in each open container
    pos, end = 0, len(data)
    while pos < end:
        b = data[pos]
        pos += 1
        fixed = _FIXED[b]
        if fixed >= 0:
            pos += fixed
        elif b in _SIZED:
            width, extra = _SIZED[b]
            pos += width + extra + int.from_bytes(data[pos : pos + width], "big")
        elif b == 0xC1:  # never used: the decoder refuses it
            return
        else:  # a container
            if b <= 0x9F:  # fixmap (0x8n: n pairs) or fixarray (0x9n: n items)
                items = (b & 0x0F) * (2 if b <= 0x8F else 1)
            else:
                width, per = _COUNTED[b]
                items = per * int.from_bytes(data[pos : pos + width], "big")
                pos += width
            if len(open_items) >= max_depth:
                raise NestingTooDeep(len(open_items) + 1, max_depth)
            if items:
                open_items.append(items)
                continue
        while open_items:  # one value done: close every container it completes
            open_items[-1] -= 1
            if open_items[-1]:
                break
            open_items.pop()
        else:
            return


def check_json_depth(data: bytes | str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON `data` nested deeper than `max_depth` (brackets in strings do not count).

    Raises:
        NestingTooDeep: an array or object is nested deeper than `max_depth`.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") > max_depth:
        walk_json(raw, max_depth)


def walk_json(raw: bytes, max_depth: int) -> None:
    """`check_json_depth` without its shortcut: every bracket outside strings counted."""
    depth = 0
    for match in _JSON_TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise NestingTooDeep(depth, max_depth)
        elif token in (b"]", b"}"):
            depth -= 1
