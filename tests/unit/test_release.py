"""Release decisions against a small reference model, and against the edge checks."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import KEYSET, envelope, launch, track
from warnlink.model import Envelope
from warnlink.security.signing import verify
from warnlink.sharing.inbound import check_release
from warnlink.sharing.leaks import LeakChecker
from warnlink.sharing.release import Outcome, decide

PARTIES = ("ROK", "JPN", "USA", "AUS")
FIELDS = ("sensor", "cov", "range_class", "pos")  # pos cannot be withheld: a bad label


def reference(
    label_rel_to: set[str], field_rel_to: dict[str, set[str]], recipient: str, releasable: set[str]
) -> tuple[str, set[str]]:
    """What a recipient may see, computed field by field (not from the label API)."""
    if recipient not in label_rel_to:
        return "refused", set()
    hidden = {f for f, allowed in field_rel_to.items() if recipient not in allowed}
    if not hidden:
        return "forwarded", set()
    if not hidden <= releasable:
        return "refused", hidden
    return "redacted", hidden


labels = st.tuples(
    st.sets(st.sampled_from(PARTIES)),
    st.dictionaries(st.sampled_from(FIELDS), st.sets(st.sampled_from(PARTIES)), max_size=3),
)


@settings(max_examples=500)
@given(labels, st.sampled_from(PARTIES), st.booleans())
def test_decide_matches_reference(
    label: tuple[set[str], dict[str, set[str]]], recipient: str, is_track: bool
) -> None:
    rel_to, field_rel_to = label
    payload = track() if is_track else launch()
    original = envelope(
        payload,
        originator="ROK",
        rel_to=tuple(sorted(rel_to)),
        field_rel_to={f: tuple(sorted(p)) for f, p in field_rel_to.items()},
    )
    decision = decide(original, recipient)
    expected, hidden = reference(rel_to, field_rel_to, recipient, set(payload.releasable_fields))
    assert decision.outcome.value == expected
    if decision.outcome is Outcome.REFUSED:
        assert decision.product is None
        return
    product = decision.product
    assert product is not None
    check_release(product, recipient)  # the receiving edge accepts it
    checker = LeakChecker()
    checker.record_original(original)
    assert checker.check(recipient, product) == []
    for name in product.payload.__struct_fields__:
        value = getattr(product.payload, name)
        assert value is None if name in hidden else value == getattr(original.payload, name)
    if decision.outcome is Outcome.FORWARDED:
        assert product is original
    else:
        _assert_relay_product(product, original, hidden)


def _assert_relay_product(product: Envelope, original: Envelope, hidden: set[str]) -> None:
    """A redaction is the originator's message less the hidden values and salts."""
    assert product.producer is None
    assert product.derived_from is None
    assert product.msg_id == original.msg_id
    assert product.label == original.label
    assert product.withheld == tuple(sorted(hidden))
    assert (product.sig, product.commitments) == (original.sig, original.commitments)
    verify(product, KEYSET)


def test_redacted_product_id_is_stable() -> None:
    original = envelope(field_rel_to={"sensor": ("USA",)})
    first = decide(original, "JPN").product
    again = decide(original, "JPN").product
    assert first is not None
    assert again is not None
    assert first.msg_id == again.msg_id


def test_originator_redaction_stays_its_own_product() -> None:
    original = envelope(originator="USA", rel_to=("JPN", "ROK"), field_rel_to={"sensor": ("ROK",)})
    product = decide(original, "JPN").product
    assert product is not None
    assert product.producer is None
    assert product.payload == msgspec.structs.replace(original.payload, sensor=None)
