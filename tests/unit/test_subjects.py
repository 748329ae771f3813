"""Subject, filter and durable-name rules (NATS-compatible)."""

from __future__ import annotations

import pytest

from warnlink.errors import TransportError
from warnlink.transport.subjects import (
    subject_matches,
    validate_durable,
    validate_filter,
    validate_subject,
)


@pytest.mark.parametrize("subject", ["a", "track.ROK.update", "x-1.y_2.Z3", "a.b.c.d.e.f"])
def test_valid_subjects_pass(subject: str) -> None:
    assert validate_subject(subject) == subject


@pytest.mark.parametrize(
    "subject", ["", ".", "a.", ".a", "a..b", "a b", "a.*", "a.>", "*", ">", "é", "a/b"]
)
def test_invalid_subjects_are_refused(subject: str) -> None:
    with pytest.raises(TransportError, match="invalid subject"):
        validate_subject(subject)


def test_subject_error_names_the_bad_token() -> None:
    with pytest.raises(TransportError, match=r"token 2 is empty"):
        validate_subject("a..b")
    with pytest.raises(TransportError, match=r"token 2 \('\*'\)"):
        validate_subject("a.*")


@pytest.mark.parametrize("subject_filter", ["a", "*", ">", "a.*", "a.>", "*.b.*", "a.*.>"])
def test_valid_filters_pass(subject_filter: str) -> None:
    assert validate_filter(subject_filter) == subject_filter


@pytest.mark.parametrize(
    "subject_filter", ["", "a.", "a..b", "a.>.b", ">.a", "a*", "a.b>", "**", "a. b"]
)
def test_invalid_filters_are_refused(subject_filter: str) -> None:
    with pytest.raises(TransportError, match="invalid subject filter"):
        validate_filter(subject_filter)


@pytest.mark.parametrize("durable", ["relay", "ROK-gateway_1"])
def test_valid_durable_names_pass(durable: str) -> None:
    assert validate_durable(durable) == durable


@pytest.mark.parametrize("durable", ["", "a.b", "a*", ">", "a b"])
def test_invalid_durable_names_are_refused(durable: str) -> None:
    with pytest.raises(TransportError, match="invalid durable name"):
        validate_durable(durable)


@pytest.mark.parametrize(
    ("subject_filter", "subject", "expected"),
    [
        ("a.b", "a.b", True),
        ("a.b", "a.c", False),
        ("a.b", "a.b.c", False),
        ("a.b.c", "a.b", False),
        ("a.*", "a.b", True),
        ("a.*", "a", False),
        ("a.*", "a.b.c", False),
        ("*.b", "a.b", True),
        ("*.b", "a.c", False),
        ("a.*.c", "a.x.c", True),
        ("a.*.c", "a.x.d", False),
        ("a.>", "a.b", True),
        ("a.>", "a.b.c.d", True),
        ("a.>", "a", False),
        ("a.>", "b.c", False),
        (">", "a", True),
        (">", "a.b.c", True),
        ("*", "a", True),
        ("*", "a.b", False),
        ("*.>", "a", False),
        ("*.>", "a.b", True),
        ("a.*.>", "a.b.c", True),
        ("a.*.>", "a.b", False),
    ],
)
def test_subject_matches(subject_filter: str, subject: str, expected: bool) -> None:
    assert subject_matches(subject_filter, subject) is expected


def test_matching_is_case_sensitive() -> None:
    assert not subject_matches("track.rok", "track.ROK")
