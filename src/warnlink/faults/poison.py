"""Poison messages: what a hostile link peer with valid credentials can put on a link.

Each is a few kilobytes at most, well under the size limit, and none is a valid
envelope; before the nesting-depth scan (`model.nesting`) the deep ones raised
`RecursionError` in the decoder and ended the consumer that read them (issue 17,
finding 1). Used by the fault case 8, the unit tests and the fuzz regressions.
"""

from __future__ import annotations

from typing import Final

import msgspec

from warnlink.model import Envelope, encode

#: The finding's message: a MessagePack map nested 2,000 deep (6,001 bytes).
DEEP_MAP: Final = b"\x81\xa1a" * 2000 + b"\x80"
#: An array nested 20,000 deep (20 KB).
DEEP_ARRAY: Final = b"\x91" * 20_000 + b"\x90"
#: The byte MessagePack never uses, alone.
NEVER_USED: Final = b"\xc1"


def deep_payload(envelope: Envelope, depth: int = 2000) -> bytes:
    """`envelope` (signed or not) with its payload replaced by a map nested `depth` deep:
    a message whose first fields read well."""
    return with_payload(envelope, b"\x81\xa1a" * depth + b"\x80")


def with_payload(envelope: Envelope, payload: bytes) -> bytes:
    """`envelope`'s MessagePack bytes with its payload's replaced by `payload`."""
    data = encode(envelope)
    start = data.index(b"\xa7payload") + len(b"\xa7payload")
    end = start + len(msgspec.msgpack.encode(envelope.payload))  # as `encode` writes it
    return data[:start] + payload + data[end:]


def poison_messages(envelope: Envelope) -> dict[str, bytes]:
    """Every poison shape by name; `envelope` is made into the deep-payload one."""
    return {
        "deep_map": DEEP_MAP,
        "deep_array": DEEP_ARRAY,
        "deep_payload": deep_payload(envelope),
        "never_used_byte": NEVER_USED,
    }
