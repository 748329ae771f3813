"""One Ed25519 signature over a batch: every message verifies alone, with its Merkle path."""

from __future__ import annotations

import msgspec
import pytest

from tests.factories import KEYS, KEYSET, envelope, track
from warnlink.errors import ConfigError, SignatureError
from warnlink.model import Envelope, SigPath, decode, encode
from warnlink.security.commitments import withhold
from warnlink.security.signing import sign_batch, verify, verify_batch


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
