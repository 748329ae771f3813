"""A ``createBulk`` body's bytes to decoded MissileTrack records, or typed refusals.

The whole array is decoded at once with msgspec into `udl_schema.MissileTrack`; only
when that fails is it split and each record decoded alone, so that every bad record
is named (with msgspec's first error in it). msgspec's messages are typed here:

==========================================  ====================================
``Object missing required field `f```       ``required`` at ``[i]...f``
``Object contains unknown field `f```       ``unknown_field`` at ``[i]...f``
``Invalid enum value`` (``dataMode``)       ``data_mode``
``Number out of range`` (beyond a double)   ``not_finite``
a range or length constraint                by field: ``latitude``,
                                            ``longitude``, ``covariance``,
                                            ``required`` (no vectors), else
                                            ``value``
any other (a wrong JSON type)               ``shape``
==========================================  ====================================

JSON that repeats a key inside one object is refused (``shape``): decoders disagree on
which value counts (msgspec keeps the last, others the first), so the sender's meaning
is unknown. Finding repeats needs a second parse (the standard library's, keys only).

Nesting is bounded by the schema wherever a record is typed (an array where a number
goes is ``shape``); only the outer split can meet arbitrary depth, and nesting deeper
than the decoder's recursion limit (the interpreter's, 1000 by default) is refused
whole as ``too_deep`` before any record is read. Invalid UTF-8 anywhere refuses the
whole body (``not_json``).
"""

from __future__ import annotations

import json
import re
from typing import Final

import msgspec

from warnlink.sources.base import Refusal
from warnlink.sources.udl_schema import MissileTrack

MAX_RECORDS: Final = 10_000
"""Most MissileTrack records, and most state vectors, in one batch."""
_DECODER: Final = msgspec.json.Decoder(list[MissileTrack])
_RECORD_DECODER: Final = msgspec.json.Decoder(MissileTrack)
_SPLITTER: Final = msgspec.json.Decoder(list[msgspec.Raw])
_AT: Final = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.DOTALL)
#: msgspec's message for a value out of its range or length (not of the wrong type).
_CONSTRAINT: Final = re.compile(r"Expected `[^`]+` (?:of length )?(?:[<>]=?|matching) ")
#: The reason of a constraint (range, length) failing, by the field's name.
_CONSTRAINT_REASONS: Final = {
    "launchLat": "latitude",
    "impactLat": "latitude",
    "launchLon": "longitude",
    "impactLon": "longitude",
    "cov": "covariance",
    "vectors": "required",
}
_TOO_DEEP: Final = "the JSON nests deeper than the decoder's limit"


def whole(reason: str, message: str) -> Refusal:
    """A refusal of the whole input."""
    return Refusal(None, "", reason, message)


def decode_batch(body: bytes) -> tuple[dict[int, MissileTrack], list[Refusal]]:
    """The records that decoded, by their index in the array, and the refusals.

    A refusal with index None refuses the whole input (not JSON, not an array, too
    deep, too many records); the others name one record each.
    """
    try:
        tracks = dict(enumerate(_DECODER.decode(body)))
        refused: list[Refusal] = []
    except msgspec.ValidationError:  # (a DecodeError too: first)
        tracks, refused = _decode_each(body)
    except msgspec.DecodeError as exc:
        return {}, [whole("not_json", str(exc))]
    if any(r.index is None for r in refused):
        return {}, refused
    if len(tracks) > MAX_RECORDS:
        return {}, [whole("too_many", f"{len(tracks)} records; the limit is {MAX_RECORDS}")]
    for refusal in _repeated_keys(body):
        if refusal.index is None:
            return {}, [refusal]
        tracks.pop(refusal.index, None)
        refused.append(refusal)
    return tracks, refused


def _decode_each(body: bytes) -> tuple[dict[int, MissileTrack], list[Refusal]]:
    try:
        raws = _SPLITTER.decode(body)
    except RecursionError:
        return {}, [whole("too_deep", _TOO_DEEP)]
    except msgspec.ValidationError as exc:  # (a DecodeError too: first)
        return {}, [whole("shape", f"{exc}: the body must be an array of MissileTrack records")]
    except msgspec.DecodeError as exc:
        return {}, [whole("not_json", str(exc))]
    if len(raws) > MAX_RECORDS:
        return {}, [whole("too_many", f"{len(raws)} records; the limit is {MAX_RECORDS}")]
    tracks: dict[int, MissileTrack] = {}
    refused: list[Refusal] = []
    for index, raw in enumerate(raws):
        try:
            tracks[index] = _RECORD_DECODER.decode(raw)
        except msgspec.ValidationError as exc:
            refused.append(validation_refusal(index, str(exc)))
        except msgspec.DecodeError as exc:  # cannot be: the whole array decoded; kept typed
            refused.append(Refusal(index, f"[{index}]", "not_json", str(exc)))
    return tracks, refused


def validation_refusal(index: int, error: str) -> Refusal:
    """msgspec's message for one record (``... - at `$.vectors[0].pos```) as a `Refusal`."""
    match = _AT.match(error)
    message, path = (match.group(1), match.group(2) or "") if match else (error, "")
    field = f"[{index}]{path}"
    names = re.findall(r"[A-Za-z_]\w*", path)
    name = names[-1] if names else ""
    if message.startswith("Object missing required field"):
        return Refusal(index, f"{field}.{message.split('`')[1]}", "required", message)
    if message.startswith("Object contains unknown field"):
        return Refusal(index, f"{field}.{message.split('`')[1]}", "unknown_field", message)
    if message.startswith("Invalid enum value"):
        return Refusal(index, field, "data_mode" if name == "dataMode" else "value", message)
    if message.startswith("Number out of range"):
        return Refusal(index, field, "not_finite", f"{message}: not a finite float")
    if _CONSTRAINT.match(message):
        return Refusal(index, field, _CONSTRAINT_REASONS.get(name, "value"), message)
    return Refusal(index, field, "shape", message)


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique(pairs: list[tuple[str, object]]) -> None:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen.add(key)


def _nothing(_text: str) -> None:
    return None


def _keys_only(text: bytes) -> None:
    """Parse JSON for its keys alone (no number converted), `_unique` on every object."""
    json.loads(
        text,
        object_pairs_hook=_unique,
        parse_int=_nothing,
        parse_float=_nothing,
        parse_constant=_nothing,
    )


def _repeated_keys(body: bytes) -> list[Refusal]:
    """The records that repeat a key in one object (one pass; per record only if any does)."""
    try:
        _keys_only(body)
    except _RepeatedKey:
        pass
    except RecursionError:
        return [whole("too_deep", _TOO_DEEP)]
    else:
        return []
    refused = []
    for index, raw in enumerate(_SPLITTER.decode(body)):
        try:
            _keys_only(bytes(raw))
        except _RepeatedKey as repeat:
            message = f"the key {repeat.key!r} appears twice in one object"
            refused.append(Refusal(index, f"[{index}]", "shape", message))
    return refused
