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
