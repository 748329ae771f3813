"""Encoding and decoding of envelopes: JSON for people, MessagePack for the wire.

Decoding is strict (unknown fields, wrong types and out-of-range values are
refused), bounded (a size limit and a nesting-depth scan, `model.nesting`, are
checked before any parsing: msgspec parses recursively) and typed: every
failure is a `MessageError` subclass naming the cause and, where readable, the
message id.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

from warnlink.errors import DecodeError, NestingTooDeep, OversizedMessage, UnknownSchemaVersion
from warnlink.model.codes import (
    FIELD_NAME_PATTERN,
    MSG_ID_PATTERN,
    PARTY_CODE_PATTERN,
    is_field_name,
    is_msg_id,
    is_party_code,
)
from warnlink.model.envelope import SCHEMA_VERSION, Envelope
from warnlink.model.nesting import MAX_DEPTH, check_json_depth, check_msgpack_depth

MAX_MESSAGE_BYTES: Final = 64 * 1024

Format = Literal["json", "msgpack"]

_json_encoder: Final = msgspec.json.Encoder()
_msgpack_encoder: Final = msgspec.msgpack.Encoder()
_json_decoder: Final = msgspec.json.Decoder(Envelope)
_msgpack_decoder: Final = msgspec.msgpack.Decoder(Envelope)


class _Header(msgspec.Struct, rename="camel"):
    """What can still be read of a message that failed to decode."""

    schema: Any = None
    msg_id: Any = None


_json_header: Final = msgspec.json.Decoder(_Header)
_msgpack_header: Final = msgspec.msgpack.Decoder(_Header)


def encode(envelope: Envelope, fmt: Format = "msgpack") -> bytes:
    """Encode an envelope; MessagePack by default (the wire form)."""
    return (_msgpack_encoder if fmt == "msgpack" else _json_encoder).encode(envelope)


def decode(data: bytes, fmt: Format = "msgpack", *, max_bytes: int = MAX_MESSAGE_BYTES) -> Envelope:
    """Decode and validate an envelope.

    Raises:
        OversizedMessage: `data` is longer than `max_bytes`.
        NestingTooDeep: containers nested deeper than `model.nesting.MAX_DEPTH`.
        UnknownSchemaVersion: the message declares another schema version.
        DecodeError: anything else that is not a valid version-1 envelope.
    """
    if len(data) > max_bytes:
        raise OversizedMessage(len(data), max_bytes)
    check_depth = check_msgpack_depth if fmt == "msgpack" else check_json_depth
    decoder, header = (
        (_msgpack_decoder, _msgpack_header) if fmt == "msgpack" else (_json_decoder, _json_header)
    )
    # The envelope's schema is typed all the way down (no `Any`, unknown fields refused),
    # so a message that decodes is nested no deeper than the schema: the depth scan runs
    # only on failure, before the untyped header read. A batch-signed message's path
    # digests defeat the scan's shortcut, and the walk cost more than the decode.
    try:
        envelope = decoder.decode(data)
    except RecursionError:  # msgspec guards its recursion: skipping a deep value ran out
        check_depth(data)
        raise NestingTooDeep(MAX_DEPTH + 1, MAX_DEPTH) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # msgpack str with bad UTF-8
        check_depth(data)
        _raise_version_error(header, data)
        raise DecodeError(f"invalid {fmt} message: {exc}", msg_id=_read_id(header, data)) from exc
    if envelope.schema != SCHEMA_VERSION:
        raise UnknownSchemaVersion(envelope.schema, SCHEMA_VERSION, msg_id=envelope.msg_id)
    misfit = _misfit_code(envelope)
    if misfit is not None:
        where, pattern = misfit
        raise DecodeError(
            f"invalid {fmt} message: Expected `str` matching regex {pattern!r} - at `$.{where}`",
            msg_id=envelope.msg_id,
        )
    return envelope


def _misfit_code(envelope: Envelope) -> tuple[str, str] | None:
    """Where `envelope` holds a code that does not match its pattern (`model.codes`),
    and the pattern; None if every one does."""
    if not is_msg_id(envelope.msg_id):
        return "msgId", MSG_ID_PATTERN
    if envelope.derived_from is not None and not is_msg_id(envelope.derived_from):
        return "derivedFrom", MSG_ID_PATTERN
    if not is_party_code(envelope.originator):
        return "originator", PARTY_CODE_PATTERN
    if envelope.producer is not None and not is_party_code(envelope.producer):
        return "producer", PARTY_CODE_PATTERN
    label = envelope.label
    for i, code in enumerate(label.rel_to):
        if not is_party_code(code):
            return f"label.relTo[{i}]", PARTY_CODE_PATTERN
    for field, codes in label.field_rel_to.items():
        for i, code in enumerate(codes):
            if not is_party_code(code):
                return f"label.fieldRelTo.{field}[{i}]", PARTY_CODE_PATTERN
    for where, names in (("commitments", envelope.commitments), ("salts", envelope.salts)):
        for name in names:
            if not is_field_name(name):
                return f"{where}.{name}", FIELD_NAME_PATTERN
    return None


def _read_header(
    header: msgspec.json.Decoder[_Header] | msgspec.msgpack.Decoder[_Header], data: bytes
) -> _Header | None:
    try:
        return header.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def _raise_version_error(
    header: msgspec.json.Decoder[_Header] | msgspec.msgpack.Decoder[_Header], data: bytes
) -> None:
    head = _read_header(header, data)
    if head is not None and head.schema is not None and head.schema != SCHEMA_VERSION:
        msg_id = head.msg_id if isinstance(head.msg_id, str) else None
        raise UnknownSchemaVersion(head.schema, SCHEMA_VERSION, msg_id=msg_id)


def _read_id(
    header: msgspec.json.Decoder[_Header] | msgspec.msgpack.Decoder[_Header], data: bytes
) -> str | None:
    head = _read_header(header, data)
    return head.msg_id if head is not None and isinstance(head.msg_id, str) else None


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a version-1 envelope in its JSON form."""
    schema = msgspec.json.schema(Envelope)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"warnlink envelope, schema version {SCHEMA_VERSION}"
    return schema
