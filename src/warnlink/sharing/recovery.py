"""Recovering what a damaged applied-log lost, from the originators' sent-archives.

A node's applied-log (`transport.queue_store`, every message its picture applied) keeps
a digest per entry. An entry whose digest no longer matches (a byte of the file
changed) is damaged: what it held cannot be trusted, and may be any message. The node
reports it, keeps its bytes in a quarantine file, removes it, and asks each originator
to send again what it sent in the stretch of time the damaged entry lies in
(`plan`): a `ResendRequest` per originator, answered from the originator's
sent-archive by `Resend` parts (through the relay where the message went through it,
which decides again for the requester). The node applies what it lacks and counts it
(``recovered``); the last part closes the request. Nothing is lost without a report:
a range the originator no longer keeps (its retention, an hour by default) is
reported as not recovered (``recovery.incomplete``, an error in the log).

The range per originator X, over X's reports (a heartbeat, never sent again, may
arrive fresh ahead of a backlog): from the creation time of the last of them before the
damaged entry, or of the oldest after it if older (a backlog on another path), to
the later of the first of them after it and the time the node applied its next entry
(now, if none), each end widened by `MARGIN_S` (clock skew, paths); from 0 when none
of X's reports precedes it. Ranges of
several damaged entries are merged. Asking too much costs only bytes: whatever the node
already holds (`OpenRequest.have`, and the picture's message ids) is not applied again.

Open requests are kept in a JSON file (``recovery-<party>.json``) written before the
damaged entries are removed, so a crash in between asks again at the next start
rather than forgetting the loss. At every start the open requests are sent again
(the first answer to the newest request closes each).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from warnlink.errors import StoreError
from warnlink.model import Envelope
from warnlink.model.payloads import RESENDABLE
from warnlink.model.time import NS_PER_S
from warnlink.transport.private import private_file
from warnlink.transport.queue_store import QueuedMessage

log = logging.getLogger(__name__)

MARGIN_S: Final = 60.0


@dataclass
class OpenRequest:
    """A stretch of one originator's messages asked for again.

    Attributes:
        originator: whose messages.
        since, until: creation times, UTC ns: after `since`, up to `until`.
        reason: why (the damaged entries), sent with the request.
        request_id: msg_id of the latest `ResendRequest` sent for it ("" before).
        have: ids of messages in the range the node holds (not applied again).
        parts: the numbers of the answer's parts handled.
        last_part: the number of the answer's last part, once it arrived.
    """

    originator: str
    since: int
    until: int
    reason: str
    request_id: str = ""
    have: set[str] = field(default_factory=set)
    parts: set[int] = field(default_factory=set)
    last_part: int | None = None

    def missing_parts(self) -> int:
        """How many of parts 1..`last_part` were not handled (0 before the last came)."""
        if self.last_part is None:
            return 0
        return self.last_part - len({p for p in self.parts if p <= self.last_part})

    def covers(self, envelope: Envelope) -> bool:
        """Whether `envelope` is one of this request's originator's, in its range."""
        return (
            envelope.originator == self.originator and self.since < envelope.created <= self.until
        )


def plan(
    entries: Sequence[tuple[QueuedMessage, Envelope | None]],
    originators: Iterable[str],
    now_ns: int,
) -> list[OpenRequest]:
    """The requests that cover every damaged entry (envelope None) of an applied-log.

    Only reports mark the ranges' ends: a heartbeat (never kept, so never sent again)
    may arrive fresh ahead of an outage's backlog.

    Args:
        entries: the log's entries in order, each with its envelope (None: damaged).
        originators: the parties to ask (every party whose messages reach this one).
        now_ns: the upper end for a damaged entry with no intact one after it.
    """
    margin = round(MARGIN_S * NS_PER_S)
    requests: list[OpenRequest] = []
    damaged = [i for i, (_, envelope) in enumerate(entries) if envelope is None]
    if not damaged:
        return []
    reason = _reason([entries[i][0].entry_id for i in damaged])
    for originator in sorted(originators):
        created = [
            (i, env.created)
            for i, (_, env) in enumerate(entries)
            if env is not None
            and env.originator == originator
            and isinstance(env.payload, RESENDABLE)
        ]
        ranges: list[tuple[int, int]] = []
        for index in damaged:
            before = [c for i, c in created if i < index]
            after = [c for i, c in created if i > index]
            # Arrived after the damaged one, yet maybe created before it (a backlog on
            # another path): the range reaches back to the oldest of those too.
            since = min(before[-1:] + after) if before else 0
            later = [entry.time_ns for entry, env in entries[index + 1 :] if env is not None]
            until = max(after[:1] + later[:1]) + margin if after or later else now_ns
            ranges.append((max(since - margin, 0) if since else 0, max(until, since)))
        requests += [OpenRequest(originator, a, b, reason) for a, b in _merged(ranges)]
    return requests


def _reason(entry_ids: list[int]) -> str:
    """Why, in at most 256 characters, whatever the number of damaged entries."""
    if len(entry_ids) <= 5:
        return f"applied-log entries {', '.join(map(str, entry_ids))} damaged"
    return f"{len(entry_ids)} applied-log entries damaged, {entry_ids[0]} to {entry_ids[-1]}"


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for since, until in sorted(ranges):
        if merged and since <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], until))
        else:
            merged.append((since, until))
    return merged


class Recovery:
    """A node's open requests, kept in `path` (None: memory only).

    Raises:
        StoreError: the file exists and cannot be read as open requests.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.open: list[OpenRequest] = []
        if path is not None and path.exists():
            try:
                rows = json.loads(path.read_text(encoding="utf-8"))
                self.open = [
                    OpenRequest(r["originator"], int(r["since"]), int(r["until"]), r["reason"])
                    for r in rows
                ]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"{path}: cannot read the open recovery requests: {exc}") from exc

    def add(self, requests: Iterable[OpenRequest]) -> None:
        """Open `requests`, on disk before this returns."""
        self.open.extend(requests)
        self.save()

    def note_held(self, entries: Iterable[tuple[QueuedMessage, Envelope | None]]) -> None:
        """Record, for every open request, the messages in its range the node holds."""
        for _, envelope in entries:
            if envelope is not None:
                self.note_applied(envelope)

    def note_applied(self, envelope: Envelope) -> None:
        for request in self.open:
            if request.covers(envelope):
                request.have.add(envelope.msg_id)

    def find(self, request_id: str) -> OpenRequest | None:
        """The open request that `request_id` (a `ResendRequest`'s msg_id) was sent for."""
        return next((r for r in self.open if r.request_id == request_id), None)

    def close(self, request: OpenRequest) -> None:
        self.open.remove(request)
        self.save()

    def save(self) -> None:
        """Write the open requests (atomically: a new file renamed over the old)."""
        if self.path is None:
            return
        rows = [
            {"originator": r.originator, "since": r.since, "until": r.until, "reason": r.reason}
            for r in self.open
        ]
        temporary = self.path.with_suffix(".tmp")
        try:
            with private_file(temporary).open("w", encoding="utf-8") as file:
                json.dump(rows, file)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self.path)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot write the open recovery requests: {exc}"
            ) from exc


def quarantine(path: Path | None, entries: Iterable[QueuedMessage]) -> None:
    """Append the damaged `entries`, as read, to the quarantine file `path` (JSON lines:
    entry id, subject, msg_id, time, data in hex), for whoever looks into the damage."""
    if path is None:
        return
    try:
        with private_file(path).open("a", encoding="utf-8") as file:
            for entry in entries:
                row = {
                    "entry_id": entry.entry_id,
                    "subject": entry.subject,
                    "msg_id": entry.msg_id,
                    "time_ns": entry.time_ns,
                    "data": entry.data.hex(),
                }
                file.write(json.dumps(row) + "\n")
            file.flush()
            os.fsync(file.fileno())
    except OSError as exc:
        raise StoreError(f"{path}: cannot keep the damaged entries: {exc}") from exc
