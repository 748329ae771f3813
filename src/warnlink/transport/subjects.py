"""Subjects, subject filters and durable names, as pure functions.

The rules follow NATS, so that the SQLite bus and a JetStream bus accept and match
exactly the same names:

- A subject is tokens separated by ``.``; each token is a non-empty run of
  ``[A-Za-z0-9_-]`` (``track.ROK.update``).
- A filter is a subject that may also use two wildcards, each as a whole token:
  ``*`` matches exactly one token; ``>``, only as the last token, matches one or
  more trailing tokens (``track.*.update``, ``track.>``).
- A durable consumer name is a single token.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import Final

from warnlink.errors import TransportError

ONE_TOKEN: Final = "*"
TRAILING_TOKENS: Final = ">"

_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]+")


def validate_subject(subject: str) -> str:
    """Check a subject to publish on.

    Returns:
        The subject, unchanged.

    Raises:
        TransportError: empty tokens, characters outside ``[A-Za-z0-9_-]``, or a wildcard.
    """
    for position, token in enumerate(subject.split("."), start=1):
        if not _TOKEN.fullmatch(token):
            raise TransportError(_bad_token("subject", subject, position, token))
    return subject


def validate_filter(subject_filter: str) -> str:
    """Check a subject filter to subscribe with.

    Returns:
        The filter, unchanged.

    Raises:
        TransportError: a malformed token, or ``>`` anywhere but last.
    """
    tokens = subject_filter.split(".")
    for position, token in enumerate(tokens, start=1):
        if token == ONE_TOKEN:
            continue
        if token == TRAILING_TOKENS:
            if position != len(tokens):
                raise TransportError(
                    f"invalid subject filter {subject_filter!r}: "
                    f"'{TRAILING_TOKENS}' must be the last token"
                )
            continue
        if not _TOKEN.fullmatch(token):
            raise TransportError(_bad_token("subject filter", subject_filter, position, token))
    return subject_filter


def validate_durable(durable: str) -> str:
    """Check a durable consumer name: one token of ``[A-Za-z0-9_-]``.

    Raises:
        TransportError: the name is empty or has other characters (``.``, wildcards, spaces).
    """
    if not _TOKEN.fullmatch(durable):
        raise TransportError(
            f"invalid durable name {durable!r}: use one or more of A-Z a-z 0-9 _ -"
        )
    return durable


def check_publish(subject: str, data: bytes, msg_id: str, *, limit_bytes: int) -> None:
    """The checks every Bus makes before a publish (see `Bus.publish`).

    Raises:
        TransportError: a bad subject, an empty msg_id, or data over `limit_bytes`.
    """
    validate_subject(subject)
    if not msg_id:
        raise TransportError("msg_id must be a non-empty string")
    if len(data) > limit_bytes:
        raise TransportError(
            f"message of {len(data)} bytes on {subject!r} exceeds the bus limit of "
            f"{limit_bytes} bytes"
        )


def check_subscribe(subject_filter: str, durable: str, open_durables: Container[str]) -> None:
    """The checks every Bus makes before a subscribe (see `Bus.subscribe`).

    Raises:
        TransportError: a bad filter or durable name, or `durable` already open on this bus.
    """
    validate_filter(subject_filter)
    validate_durable(durable)
    if durable in open_durables:
        raise TransportError(f"durable {durable!r} already has an open subscription")


def subject_matches(subject_filter: str, subject: str) -> bool:
    """Whether `subject` is selected by `subject_filter`.

    Both are assumed valid (see `validate_filter`, `validate_subject`); this runs once
    per message and consumer, so it does not check them again.
    """
    pattern = subject_filter.split(".")
    tokens = subject.split(".")
    for index, wanted in enumerate(pattern):
        if wanted == TRAILING_TOKENS:
            # '>' needs at least one token to stand for.
            return len(tokens) > index
        if index >= len(tokens):
            return False
        if wanted != ONE_TOKEN and wanted != tokens[index]:
            return False
    return len(pattern) == len(tokens)


def _bad_token(kind: str, name: str, position: int, token: str) -> str:
    if not token:
        return f"invalid {kind} {name!r}: token {position} is empty"
    return (
        f"invalid {kind} {name!r}: token {position} ({token!r}) "
        "may only use A-Z a-z 0-9 _ - (wildcards only in filters)"
    )
