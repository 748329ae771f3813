"""Malformed and hostile createBulk bodies (tests/udl_corpus.py): each refused with its typed
reason, never a crash."""

from __future__ import annotations

import pytest

from tests.udl_corpus import CORPUS
from tests.udl_records import body, record, vector
from warnlink.sources.base import REASONS
from warnlink.sources.udl import parse_batch


@pytest.mark.parametrize(
    ("data", "reason", "index", "field"),
    [
        pytest.param(data, reason, index, field, id=name)
        for name, data, reason, index, field in CORPUS
    ],
)
def test_each_hostile_body_is_refused_with_its_reason(
    data: bytes, reason: str, index: int | None, field: str
) -> None:
    taken, refused = parse_batch(data, party="ROK", source="rok-c2")
    assert refused, "accepted"
    first = refused[0]
    assert (first.reason, first.index, first.field) == (reason, index, field), first.message
    assert first.reason in REASONS
    assert first.message
    if index is None:
        assert taken == []


def test_the_corpus_is_large_and_covers_every_input_reason_of_the_adapter() -> None:
    assert len(CORPUS) >= 30
    reasons = {reason for _, _, reason, _, _ in CORPUS}
    assert reasons >= {
        "too_large", "too_deep", "too_many", "not_json", "shape", "unknown_field", "required",
        "not_finite", "latitude", "longitude", "altitude", "speed", "covariance", "frame",
        "epoch", "data_mode", "value",
    }  # fmt: skip


def test_unicode_is_taken_where_strings_go() -> None:
    data = body(
        record(trackId="탄도-미사일-1", classificationMarking="機密//REL", mslStatus="飛行中")
    )
    taken, refused = parse_batch(data, party="ROK", source="rok-c2")
    assert refused == []
    assert taken[0].track_id == "탄도-미사일-1"


def test_a_bad_record_among_good_ones_is_the_one_named() -> None:
    data = body(record(), record(), record(vectors=[vector(vel=[20.0, 0.0, 0.0])]), record())
    taken, refused = parse_batch(data, party="ROK", source="rok-c2")
    assert [(r.index, r.reason) for r in refused] == [(2, "speed")]
    assert len(taken) == 3


def test_velocities_just_under_the_limit_are_taken() -> None:
    data = body(record(vectors=[vector(vel=[0.0, 0.0, 11.99])]))
    assert parse_batch(data, party="ROK", source="rok-c2")[1] == []
