"""`release.decide` and the receiving edge against the reference model, case by case.

Each Hypothesis example is a batch of cases (label or standing rules, message,
recipient), so that the default run covers well over 100,000 cases in seconds. Every
case is counted; the last test asserts the count (and the session summary prints it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import KEYS, KEYSET, T0, impact, launch, mode_for, track, trilateral
from tests.property import reference_model as ref
from tests.property.counts import CASES, MISMATCHES
from tests.property.profiles import prop_settings
from warnlink.errors import LabelError
from warnlink.model import PAYLOAD_TYPES, EventStatus, Payload, SecurityLabel, encode, new_envelope
from warnlink.model.envelope import Envelope
from warnlink.model.payloads import RangeClass, Status
from warnlink.security.signing import countersign, sign
from warnlink.sharing.federation import Federation, Link, ReleaseRule
from warnlink.sharing.inbound import accept, check_release
from warnlink.sharing.leaks import LeakChecker
from warnlink.sharing.release import decide

#: Party codes a case draws from; the federation of an example is 2-6 of the first six.
POOL = ("ROK", "JPN", "USA", "AUS", "GBR", "CAN", "NZL", "FRA")
#: Field names a label may name: every payload field of some kind, and bogus ones.
FIELD_NAMES = (
    "sensor",
    "cov",
    "range_class",
    "trk_id",
    "epoch",
    "pos",
    "launch_aou",
    "impact_lat",
    "status",
    "bogus",
    "Sensor",
    "sensor_id",
)
BATCH = 100
EXAMPLES = 1_100
MIN_CASES = 100_000


def _launch(range_class: bool, sensor: bool) -> Payload:
    return msgspec.structs.replace(
        launch(),
        range_class=RangeClass.MRBM if range_class else None,
        sensor="ROK-R1" if sensor else None,
    )


def _status() -> Payload:
    return EventStatus(trk_id=1, epoch=T0, status=Status.FLYING)


#: Every payload variant: (kind, the optional fields present, the payload).
VARIANTS: list[tuple[str, frozenset[str], Payload]] = [
    *(
        (
            "track_report",
            frozenset(n for n, on in (("cov", c), ("sensor", s)) if on),
            track(sensor="ROK-R1" if s else None, cov=c),
        )
        for c in (False, True)
        for s in (False, True)
    ),
    *(
        (
            "launch_report",
            frozenset(n for n, on in (("range_class", r), ("sensor", s)) if on),
            _launch(r, s),
        )
        for r in (False, True)
        for s in (False, True)
    ),
    ("impact_prediction", frozenset(), impact()),
    ("event_status", frozenset(), _status()),
]


def _parties(mask: int) -> tuple[str, ...]:
    return tuple(sorted(p for i, p in enumerate(POOL) if mask >> i & 1))


@dataclass(frozen=True)
class Case:
    rel_to: tuple[str, ...]
    field_rel_to: dict[str, tuple[str, ...]]
    variant: int
    recipient: str
    use_rules: bool  # label from the example's standing rules instead of rel_to/field_rel_to


def case_of(bits: int) -> Case:
    """One case from the bits of one integer: Hypothesis then draws one value a case
    (cheap enough for 100,000 cases a run) and shrinks towards 0, the simplest case
    (released to nobody).

    Bits 0-7: rel_to (a mask over POOL); 8-9: how many field_rel_to entries (0-3);
    then per entry 4 bits of field name and 8 bits of parties; 46-49 the payload
    variant; 50-52 the recipient; 53 whether the label comes from the standing rules.
    """
    field_rel_to = {}
    for i in range(bits >> 8 & 3):
        entry = bits >> (10 + 12 * i) & 0xFFF
        field_rel_to[FIELD_NAMES[(entry & 0xF) % len(FIELD_NAMES)]] = _parties(entry >> 4)
    return Case(
        rel_to=_parties(bits & 0xFF),
        field_rel_to=field_rel_to,
        variant=(bits >> 46 & 0xF) % len(VARIANTS),
        recipient=POOL[bits >> 50 & 0x7],
        use_rules=bool(bits >> 53 & 1),
    )


cases = st.integers(0, 2**54 - 1).map(case_of)


@st.composite
def policies(draw: st.DrawFn) -> tuple[tuple[str, ...], tuple[ReleaseRule, ...]]:
    """2-6 member parties and valid standing rules among them (as parse_federation
    would accept them: recipients are members, not the originator; fields withheld
    are ones some listed kind can lose, from recipients the rule releases to)."""
    members = tuple(sorted(draw(st.sets(st.sampled_from(POOL[:6]), min_size=2, max_size=6))))
    rules = []
    for _ in range(draw(st.integers(0, 4))):
        originator = draw(st.sampled_from(members))
        others = [p for p in members if p != originator]
        kinds = draw(st.sets(st.sampled_from(ref.RELEASABLE_KINDS), min_size=1))
        to = draw(st.sets(st.sampled_from(others), min_size=1))
        withholdable = sorted({f for k in kinds for f in ref.PAYLOAD_FIELDS[k][1]})
        withhold = {}
        if withholdable:
            for recipient in draw(st.sets(st.sampled_from(sorted(to)))):
                withhold[recipient] = frozenset(draw(st.sets(st.sampled_from(withholdable))))
        rules.append(ReleaseRule(originator, frozenset(kinds), frozenset(to), withhold))
    return members, tuple(rules)


def _federation(members: tuple[str, ...], rules: tuple[ReleaseRule, ...]) -> Federation:
    hub = members[0]
    return Federation(
        name="generated",
        classification="UNCLASSIFIED",
        parties={p: p for p in members},
        links=tuple(Link(f"{hub}-{p}", (hub, p)) for p in members[1:]),
        relays=frozenset({hub}),
        rules=rules,
    )


def _ref_label(label: SecurityLabel) -> ref.Label:
    return ref.Label(
        label.classification,
        frozenset(label.rel_to),
        {f: frozenset(p) for f, p in label.field_rel_to.items()},
    )


def _present(payload: Payload) -> frozenset[str]:
    return frozenset(f for f in type(payload).releasable_fields if getattr(payload, f) is not None)


def check_case(
    case: Case, members: tuple[str, ...], federation: Federation, seq: int
) -> Envelope | None:
    """Compare one case with the model; returns the product (None when refused)."""
    kind, present, payload = VARIANTS[case.variant]
    originator = members[seq % len(members)]
    if case.use_rules:
        label = federation.label_for(originator, kind)
        rules = [ref.Rule(r.originator, r.kinds, r.to, dict(r.withhold)) for r in federation.rules]
        expected_label = ref.standing_label(rules, originator, kind, federation.classification)
        assert _ref_label(label) == expected_label, (originator, kind, federation.rules)
        assert label.rel_to == tuple(sorted(label.rel_to))
    else:
        label = SecurityLabel("UNCLASSIFIED", case.rel_to, case.field_rel_to)
    original = new_envelope(
        originator=originator,
        seq=seq,
        created=T0 + seq,
        label=label,
        payload=payload,
        data_mode=mode_for(payload),
    )
    message = ref.Message(_ref_label(label), kind, present, frozenset(original.salts))
    expected = ref.verdict(message, case.recipient)

    decision = decide(original, case.recipient)
    assert (decision.outcome.value, decision.reason, decision.withheld) == (
        expected.outcome,
        expected.reason,
        expected.withheld,
    ), (case, label)
    assert decision.recipient == case.recipient

    # The edge, for the original as it is: refused exactly when the model says so.
    try:
        check_release(original, case.recipient)
        rule = None
    except LabelError as exc:
        rule = exc.rule
    assert rule == ref.edge_refusal(message, case.recipient), (case, label)

    product = decision.product
    if expected.outcome == "refused":
        assert product is None
        return None
    assert product is not None
    assert _present(product.payload) == expected.received
    for name in product.payload.__struct_fields__:
        if name not in expected.received and name in type(payload).releasable_fields:
            assert getattr(product.payload, name) is None
        else:
            assert getattr(product.payload, name) == getattr(payload, name)
    assert expected.label is not None
    assert _ref_label(product.label) == expected.label
    if expected.outcome == "forwarded":
        assert product is original
    else:
        # The originator's message, whoever withheld the fields: same id, label, issuer.
        assert product.msg_id == original.msg_id
        assert (product.producer, product.derived_from) == (None, None)
        assert product.label == original.label
        assert product.withheld == tuple(f for f in expected.withheld if f in original.salts)
    # What was released passes the recipient's edge, and the independent leak check.
    check_release(product, case.recipient)
    product_message = ref.Message(_ref_label(product.label), kind, _present(product.payload))
    assert ref.edge_refusal(product_message, case.recipient) is None
    leaks = LeakChecker()
    leaks.record_original(original)
    assert leaks.check(case.recipient, product) == []
    return product


@prop_settings(EXAMPLES)
@given(policy=policies(), batch=st.lists(cases, min_size=BATCH, max_size=BATCH))
def _decide_and_edge_match_the_reference_model(
    policy: tuple[tuple[str, ...], tuple[ReleaseRule, ...]], batch: list[Case]
) -> None:
    members, rules = policy
    federation = _federation(members, rules)
    for seq, case in enumerate(batch, start=1):
        try:
            check_case(case, members, federation, seq)
        except AssertionError:
            MISMATCHES["release_model"] += 1
            raise
        finally:
            CASES["release_model"] += 1


@prop_settings(300)
@given(
    case=st.builds(dataclasses.replace, cases, recipient=st.sampled_from(("JPN", "USA"))),
    rok_field_rules=st.booleans(),
)
def test_relayed_product_is_accepted_and_unredacted_copy_refused_at_the_edge(
    case: Case, rok_field_rules: bool
) -> None:
    """The whole edge (`accept`: decode, sender, signatures, label) over real signed
    bytes: ROK's message through the relay at USA to JPN or USA."""
    kind, present, payload = VARIANTS[case.variant]
    federation = trilateral()
    label = (
        federation.label_for("ROK", kind)
        if rok_field_rules
        else SecurityLabel("UNCLASSIFIED", case.rel_to, case.field_rel_to)
    )
    original = sign(
        new_envelope(
            originator="ROK",
            seq=1,
            created=T0,
            label=label,
            payload=payload,
            data_mode=mode_for(payload),
        ),
        KEYS["ROK"].own,
    )
    CASES["edge_accept"] += 1
    decision = decide(original, case.recipient)
    message = ref.Message(_ref_label(label), kind, present, frozenset(original.salts))
    expected = ref.verdict(message, case.recipient)
    assert decision.outcome.value == expected.outcome
    if decision.product is not None:
        product = countersign(decision.product, KEYS["USA"].own)
        got = accept(
            encode(product),
            party=case.recipient,
            sender="USA",
            federation=federation,
            keyset=KEYSET,
        )
        assert got == product
    # The original passed on unredacted (countersigned, so only the label can refuse it).
    unredacted = encode(countersign(original, KEYS["USA"].own))
    refusal = ref.edge_refusal(message, case.recipient)
    if refusal is None:
        accept(unredacted, party=case.recipient, sender="USA", federation=federation, keyset=KEYSET)
    else:
        with pytest.raises(LabelError) as info:
            accept(
                unredacted,
                party=case.recipient,
                sender="USA",
                federation=federation,
                keyset=KEYSET,
            )
        assert info.value.rule == refusal


def test_reference_field_table_matches_the_payload_classes() -> None:
    """The model's hand-written field table is the payloads' (a new field is a conscious
    change to both), and release.decide's doc states the bad-label rule the model uses."""
    for kind, cls in PAYLOAD_TYPES.items():
        required, optional = ref.PAYLOAD_FIELDS[kind]
        assert set(cls.releasable_fields) == optional
        assert set(cls.__struct_fields__) == required | optional
        names, defaults_ = cls.__struct_fields__[::-1], cls.__struct_defaults__[::-1]
        defaults = dict(zip(names, defaults_, strict=False))
        assert {f for f, d in defaults.items() if d is None} == optional
    from warnlink.sharing import release

    assert "bad label" in (release.decide.__doc__ or "")
    assert "not optional" in (release.decide.__doc__ or "")


def test_decide_and_edge_match_the_reference_model() -> None:
    """Every generated (label, policy, message, recipient) case agrees with the model,
    and there were at least `MIN_CASES` of them in this one test (whatever else runs)."""
    before = CASES["release_model"]
    _decide_and_edge_match_the_reference_model()
    compared = CASES["release_model"] - before
    print(f"\nrelease model: {compared} cases, {MISMATCHES['release_model']} mismatches")
    assert MISMATCHES["release_model"] == 0
    assert compared >= MIN_CASES
