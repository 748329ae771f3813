"""A node's side of recovery: its applied-log replayed at start, damaged entries asked for
again, and the answers applied (docs/reliability.md, case 6).

A restarted node replays its applied-log into a new picture. An entry whose digest does
not match is reported, quarantined (``applied-<party>.damaged.jsonl``) and asked for again
from the originators (`sharing.recovery`; open requests in ``recovery-<party>.json``, on
disk before the entry is removed). The originators answer from their sent-archives
(`Gateway.answer`), through the relay where there is one; the node applies, of what comes
back, what it lacks. It applies through the `apply` it is given (the node's: log, then
picture), so this module needs nothing else of the node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from warnlink.alerting.monitor import AlertMonitor
from warnlink.counters import Counters
from warnlink.errors import LabelError, MessageError, TransportError
from warnlink.fusion.picture import Picture
from warnlink.model import Envelope, Resend, ResendRequest, decode
from warnlink.model.payloads import RESENDABLE
from warnlink.model.time import Clock
from warnlink.sharing.federation import Federation
from warnlink.sharing.gateway import Gateway
from warnlink.sharing.recovery import OpenRequest, Recovery, plan, quarantine
from warnlink.transport.queue_store import QueuedMessage, QueueStore

log = logging.getLogger(__name__)


class NodeRecovery:
    """Replays the applied-log, asks for what was damaged, applies the answers.

    Args:
        party: the node's party.
        federation: who reaches whom (whom to ask).
        clock: the node's clock.
        counters: the node's counters.
        picture, alerts: where a replayed entry is applied (without logging it again).
        applied_log: the node's applied-log.
        gateway: sends the requests, finds the node's own sent messages.
        folder: where the requests and the quarantine go (None: memory, nothing kept).
        apply: logs and applies one message; False if it was applied before.
        on_applied: called with every received message applied (for checkers).
    """

    def __init__(
        self,
        party: str,
        federation: Federation,
        clock: Clock,
        counters: Counters,
        *,
        picture: Picture,
        alerts: AlertMonitor,
        applied_log: QueueStore,
        gateway: Gateway,
        folder: Path | None,
        apply: Callable[[Envelope], bool],
        on_applied: Callable[[Envelope], None] | None = None,
    ) -> None:
        self.party = party
        self.federation = federation
        self.clock = clock
        self.counters = counters
        self.picture = picture
        self.alerts = alerts
        self.applied_log = applied_log
        self.gateway = gateway
        self.folder = folder
        self.requests = Recovery(folder / f"recovery-{party}.json" if folder else None)
        self._apply = apply
        self._on_applied = on_applied

    def replay_applied_log(self) -> None:
        """Rebuild the picture from the applied-log. A damaged entry (its digest does not
        match) is counted (``applied_log.damaged``), reported, kept in the quarantine
        file, removed, and asked for again (`sharing.recovery`): the requests are on
        disk before the entry is gone, and sent by `ask_again`. An intact entry that
        does not decode (written by another version) is counted
        (``applied_log.unreadable``), reported and left where it is."""
        entries: list[tuple[QueuedMessage, Envelope | None]] = []
        for entry in self.applied_log.entries():
            if not entry.intact:
                entries.append((entry, None))
                self.counters.inc("applied_log.damaged")
                log.error(
                    "%s: applied-log entry %d (%s) is damaged (its digest does not match); "
                    "asking the originators to send again what it may have held",
                    self.party,
                    entry.entry_id,
                    entry.msg_id,
                )
                continue
            try:
                envelope = decode(entry.data)
            except MessageError as exc:
                self.counters.inc("applied_log.unreadable")
                log.error(
                    "%s: applied-log entry %d (%s) is intact but unreadable here, kept: %s",
                    self.party,
                    entry.entry_id,
                    entry.msg_id,
                    exc,
                )
                continue
            entries.append((entry, envelope))
            try:
                if self.picture.apply(envelope, entry.time_ns):
                    self.alerts.record(envelope)
            except Exception:  # as in `Node._handle`: one message must not stop the node
                self.counters.inc("applied_log.apply_failed")
                log.exception("%s could not apply %s again", self.party, envelope.msg_id)
            self.counters.inc("applied_log.replayed")
        damaged = [entry for entry, envelope in entries if envelope is None]
        if damaged:
            others = [  # every party whose messages reach this one
                p
                for p in self.federation.parties
                if any(r == self.party for r, _ in self.federation.routes(p))
            ]
            self.requests.add(plan(entries, [*others, self.party], self.clock.now_ns()))
            folder = self.folder
            quarantine(folder / f"applied-{self.party}.damaged.jsonl" if folder else None, damaged)
            for entry in damaged:
                self.applied_log.remove(entry.entry_id)
        self.requests.note_held(entries)

    async def ask_again(self) -> None:
        """Send every open recovery request (own messages are found in the own
        sent-archive, without asking anyone)."""
        for request in list(self.requests.open):
            if request.originator == self.party:
                self._recover_own(request)
                continue
            asked = ResendRequest(
                trk_id=0,
                originator=request.originator,
                since=request.since,
                until=request.until,
                reason=request.reason,
            )
            envelope = await self.gateway.send_to(asked, request.originator)
            request.request_id = envelope.msg_id
            request.parts.clear()
            request.last_part = None
            self.counters.inc("recovery.requested")

    def note_applied(self, envelope: Envelope) -> None:
        """Note a message applied while requests are open (it need not come again)."""
        if self.requests.open:
            self.requests.note_applied(envelope)

    def _recover_own(self, request: OpenRequest) -> None:
        """Apply again this party's own messages in the request's range, from its
        sent-archive and its outbox (what the bus has not acknowledged yet); report the
        range as not recovered when the archive no longer reaches back to its start."""
        for data in self.gateway.own_sent(request.since, request.until):
            self.take_again(decode(data), request)
        self.requests.close(request)
        self._closed(request, self.gateway.outbox.retained_since)

    def take_again(self, envelope: Envelope, request: OpenRequest) -> None:
        """Apply one message sent again, if the node lacks it (counted ``recovered``,
        else ``resend.held``). A fault in a core is counted and the next goes on; a
        store that fails raises (the answer is handled again)."""
        if envelope.msg_id in request.have:
            self.counters.inc("resend.held")
            return
        try:
            applied = self._apply(envelope)
        except TransportError:
            raise
        except Exception:  # as in `Node._handle`: one message must not stop the node
            self.counters.inc("rejected.apply_failed")
            log.exception("%s could not apply %s", self.party, envelope.msg_id)
            return
        request.have.add(envelope.msg_id)
        if not applied:
            self.counters.inc("resend.held")
            return
        self.counters.inc("recovered")
        if self._on_applied is not None and envelope.originator != self.party:
            self._on_applied(envelope)

    def _closed(self, request: OpenRequest, retained_since: int) -> None:
        """Count a closed request as complete, or report what it could not recover."""
        if retained_since <= request.since:
            self.counters.inc("recovery.complete")
            return
        self.counters.inc("recovery.incomplete")
        log.error(
            "%s: recovery from %s incomplete: it keeps all it sent only from %d on (asked "
            "from %d); what the damaged entries held before, if anything, is not recovered",
            self.party,
            request.originator,
            retained_since,
            request.since,
        )

    def answered(self, envelope: Envelope, answer: Resend, sender: str) -> None:
        """Apply, of the messages an originator sent again, those the node lacks; close
        the request at its last part, reporting a range the originator no longer has."""
        request = self.requests.find(answer.request)
        if request is None or request.originator != envelope.originator:
            self.counters.inc("resend.unrequested")
            log.info("%s: an answer to a request not open (%s)", self.party, answer.request)
            return
        for data in answer.messages:
            try:
                inner = self.gateway.check_resent(data, sender)
                if not isinstance(inner.payload, RESENDABLE):
                    raise LabelError(
                        f"a {inner.kind} cannot be sent again",
                        rule="not_resendable",
                        msg_id=inner.msg_id,
                    )
            except MessageError as exc:
                self.counters.inc(f"rejected.resend.{exc.counter_key}")
                log.warning("%s refused a message sent again by %s: %s", self.party, sender, exc)
                continue
            if request.covers(inner):
                self.take_again(inner, request)
            else:
                self.counters.inc("rejected.resend.out_of_range")
        request.parts.add(answer.part)  # handled: a store that failed raised above
        if answer.last:
            request.last_part = answer.part
        if request.last_part is None:
            return
        if missing := request.missing_parts():
            # A part still to come (handled again after a failure) or lost on the way:
            # the request stays open, and the next start asks again.
            self.counters.inc("recovery.waiting")
            log.warning(
                "%s: %d parts of %s's answer missing; the request stays open",
                self.party,
                missing,
                request.originator,
            )
            return
        self.requests.close(request)
        self._closed(request, answer.retained_since)
