"""Fuzzing `warnlink.model.decode`: JSON and MessagePack, random and mutated bytes,
structurally altered messages, oversize. Any input gives an envelope or a
`MessageError` subclass, never another exception and never a hang."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import KEYS, envelope, impact, launch, track
from tests.fuzz.harness import EXAMPLES, mutated, replaced, typed_or_value
from tests.property.profiles import fuzz_settings
from warnlink.errors import MessageError, OversizedMessage
from warnlink.model import Envelope, decode, encode
from warnlink.model.codec import MAX_MESSAGE_BYTES
from warnlink.security.signing import countersign
from warnlink.sharing.release import decide

pytestmark = pytest.mark.fuzz

SHORT = 300


def _seeds() -> list[Envelope]:
    originals = [
        envelope(track(), rel_to=("JPN", "USA"), field_rel_to={"sensor": ("USA",)}),
        envelope(launch(), originator="JPN", rel_to=("ROK", "USA")),
        envelope(impact(), originator="USA", rel_to=("JPN", "ROK")),
    ]
    redacted = decide(originals[0], "JPN").product
    assert redacted is not None
    return [*originals, countersign(redacted, KEYS["USA"].own)]


SEEDS = _seeds()
FORMATS = ("msgpack", "json")


def _decode(target: str, data: bytes, fmt: str) -> Envelope | None:
    got = typed_or_value(target, lambda: decode(data, fmt), MessageError)  # type: ignore[arg-type]
    if got is not None:
        # Whatever decodes is a well-formed envelope: it encodes and decodes to itself.
        assert decode(encode(got, fmt), fmt) == got  # type: ignore[arg-type]
    return got


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz_settings(SHORT)
@given(data=st.data())
def test_decode_mutated_valid_messages(fmt: str, data: st.DataObject) -> None:
    seed = encode(data.draw(st.sampled_from(SEEDS)), fmt)  # type: ignore[arg-type]
    _decode(f"decode.{fmt}.mutated", data.draw(mutated(seed, max_edits=6)), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz_settings(SHORT)
@given(raw=st.binary(max_size=512))
def test_decode_random_bytes(fmt: str, raw: bytes) -> None:
    _decode(f"decode.{fmt}.random", raw, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz_settings(SHORT)
@given(data=st.data())
def test_decode_structurally_altered_messages(fmt: str, data: st.DataObject) -> None:
    """Valid messages with values replaced by any JSON-like value, keys dropped or added."""
    seed = data.draw(st.sampled_from(SEEDS))
    doc = msgspec.to_builtins(seed, builtin_types=(bytes,) if fmt == "msgpack" else ())
    altered = data.draw(replaced(doc, max_edits=3))
    if fmt == "json":
        raw = json.dumps(altered, allow_nan=True).encode()
    else:
        try:
            raw = msgspec.msgpack.encode(altered)
        except OverflowError:  # an integer msgpack cannot hold: not a message at all
            return
    _decode(f"decode.{fmt}.structure", raw, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz_settings(SHORT // 10)
@given(extra=st.integers(1, 4096), byte=st.integers(0, 255))
def test_decode_oversize_is_refused_before_parsing(fmt: str, extra: int, byte: int) -> None:
    raw = bytes([byte]) * (MAX_MESSAGE_BYTES + extra)
    EXAMPLES[f"decode.{fmt}.oversize"] += 1
    with pytest.raises(OversizedMessage) as info:
        decode(raw, fmt)  # type: ignore[arg-type]
    assert (info.value.size, info.value.limit) == (len(raw), MAX_MESSAGE_BYTES)
