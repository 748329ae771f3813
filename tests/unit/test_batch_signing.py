"""One Ed25519 signature over a batch: every message verifies alone, with its Merkle path."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.factories import KEYS, KEYSET, T0, envelope, track, trilateral
from warnlink.errors import ConfigError, DecodeError, SignatureError
from warnlink.model import Envelope, SigPath, decode, encode
from warnlink.model.time import ManualClock
from warnlink.node import Node
from warnlink.security.commitments import withhold
from warnlink.security.signing import KeySet, sign_batch, verify, verify_batch
from warnlink.sharing.subjects import node_inbox
from warnlink.transport import Delivery, MemoryBus

#: The deepest path `SigPath` admits: a batch of at most 1,024 (2^10) messages.
MAX_PATH = 10


def _batch(size: int, *, first_seq: int = 1) -> list[Envelope]:
    return sign_batch(
        [envelope(track(trk_id=i), originator="USA", seq=first_seq + i) for i in range(size)],
        KEYS["USA"].own,
    )


def _rule(message: Envelope) -> str:
    with pytest.raises(SignatureError) as info:
        verify(decode(encode(message)), KEYSET)
    return info.value.rule


@pytest.mark.parametrize("size", [1, 2, 3, 16, 64])
def test_every_message_of_a_batch_verifies_alone(size: int) -> None:
    batch = _batch(size)
    assert len({m.sig for m in batch}) == 1
    for index, message in enumerate(batch):
        verify(decode(encode(message)), KEYSET)
        if size == 1:
            assert message.sig_path is None
        else:
            assert message.sig_path is not None
            assert (message.sig_path.index, message.sig_path.size) == (index, size)
    verify_batch(batch, KEYSET)


def test_a_redacted_message_of_a_batch_still_verifies() -> None:
    verify(withhold(_batch(5)[3], ("sensor", "cov")), KEYSET)


def test_a_forged_path_is_refused() -> None:
    message = _batch(16)[5]
    path = message.sig_path
    assert path is not None
    flipped = (bytes([path.path[0][0] ^ 1]) + path.path[0][1:], *path.path[1:])
    assert _rule(msgspec.structs.replace(message, sig_path=SigPath(5, 16, flipped))) == "bad_sig"
    moved = msgspec.structs.replace(message, sig_path=SigPath(6, 16, path.path))
    assert _rule(moved) == "bad_sig"
    short = msgspec.structs.replace(message, sig_path=SigPath(5, 16, path.path[:-1]))
    assert _rule(short) == "bad_sig_path"
    resized = msgspec.structs.replace(message, sig_path=SigPath(5, 17, path.path))
    assert _rule(resized) in {"bad_sig", "bad_sig_path"}
    assert _rule(msgspec.structs.replace(message, sig_path=None)) == "bad_sig"


def test_a_message_cannot_borrow_another_batchs_signature() -> None:
    mine, other = _batch(4)[1], _batch(4, first_seq=100)[1]
    assert _rule(msgspec.structs.replace(mine, sig=other.sig)) == "bad_sig"


def test_a_forgery_in_a_batch_is_found_by_verify_batch() -> None:
    batch = _batch(8)
    forged = msgspec.structs.replace(batch[6], seq=99)
    with pytest.raises(SignatureError):
        verify_batch([*batch[:6], forged, batch[7]], KEYSET)


def test_a_batch_has_one_issuer_and_a_bounded_size() -> None:
    mixed = [envelope(originator="USA"), envelope(originator="ROK")]
    with pytest.raises(ConfigError, match="cannot sign"):
        sign_batch(mixed, KEYS["USA"].own)
    with pytest.raises(ConfigError, match="batch"):
        sign_batch([], KEYS["USA"].own)


def test_a_batch_root_signature_is_checked_once_for_all_its_messages() -> None:
    keyset = KeySet({p: KEYSET.public_raw(p) for p in KEYSET.parties})  # an empty cache
    batch = _batch(16)
    verify_batch(batch, keyset)
    assert keyset.verified.hits == 15
    # The cache keys on the root a path leads to: a forgery leads elsewhere and is checked.
    forged = msgspec.structs.replace(batch[3], seq=999)
    with pytest.raises(SignatureError):
        verify(forged, keyset)


async def test_a_hostile_oversized_path_is_a_typed_refusal_and_counted(tmp_path: Path) -> None:
    message = _batch(2)[1]
    assert message.sig_path is not None
    deep = SigPath(1, 2, message.sig_path.path * (MAX_PATH + 1))
    data = encode(msgspec.structs.replace(message, sig_path=deep))
    with pytest.raises(DecodeError):
        decode(data)
    clock = ManualClock(T0)
    bus = MemoryBus(tmp_path / "bus", clock=clock)
    node = Node("ROK", trilateral(), bus, clock, keys=KEYS["ROK"])
    delivery = Delivery(node_inbox("ROK", "USA"), data, 1, "x", T0, redelivered=False)
    assert node.gateway.receive(delivery) is None
    assert node.counters.get("rejected.malformed") == 1
    await node.stop()
    await bus.close()
