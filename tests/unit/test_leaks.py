"""The independent leak check finds what a careless relay would let through."""

from __future__ import annotations

import msgspec

from tests.factories import envelope
from warnlink.model import SecurityLabel
from warnlink.sharing.leaks import LeakChecker


def _checker(*originals: object) -> LeakChecker:
    checker = LeakChecker()
    for original in originals:
        checker.record_original(original)  # type: ignore[arg-type]
    return checker


def test_clean_delivery() -> None:
    original = envelope(rel_to=("JPN", "USA"))
    assert _checker(original).check("JPN", original) == []


def test_message_not_released() -> None:
    original = envelope(rel_to=("USA",))
    assert [x.what for x in _checker(original).check("JPN", original)] == ["message"]


def test_withheld_field_delivered() -> None:
    original = envelope(rel_to=("JPN", "USA"), field_rel_to={"sensor": ("USA",)})
    assert [x.what for x in _checker(original).check("JPN", original)] == ["field:sensor"]


def test_relabelled_copy_is_judged_by_the_original_label() -> None:
    original = envelope(rel_to=("USA",))
    forged = msgspec.structs.replace(original, label=SecurityLabel("UNCLASSIFIED", ("JPN",)))
    assert [x.what for x in _checker(original).check("JPN", forged)] == ["message"]


def test_unknown_origin() -> None:
    assert [x.what for x in _checker().check("JPN", envelope())] == ["unknown_origin"]


def test_the_messages_inside_an_answer_are_checked_too() -> None:
    from tests.factories import KEYS, T0, track
    from warnlink.model import Resend, SecurityLabel, encode, new_envelope
    from warnlink.model.record import DataMode
    from warnlink.security.signing import sign
    from warnlink.sharing.leaks import LeakChecker

    checker = LeakChecker()
    kept_from_jpn = sign(
        new_envelope(
            originator="ROK",
            seq=1,
            created=T0,
            label=SecurityLabel("UNCLASSIFIED", ("USA",)),
            payload=track(),
            data_mode=DataMode.REAL,
        ),
        KEYS["ROK"].own,
    )
    answer = sign(
        new_envelope(
            originator="ROK",
            seq=2,
            created=T0 + 1,
            label=SecurityLabel("UNCLASSIFIED", ("JPN",)),
            payload=Resend(
                trk_id=0,
                request="e" * 32,
                to="JPN",
                messages=(encode(kept_from_jpn), b"\xc1"),
                part=1,
                last=True,
                retained_since=0,
            ),
            data_mode=None,
        ),
        KEYS["ROK"].own,
    )
    checker.record_original(kept_from_jpn)
    checker.record_original(answer)
    assert {leak.what for leak in checker.check("JPN", answer)} == {"message", "unreadable_inner"}
    assert checker.check("USA", kept_from_jpn) == []
