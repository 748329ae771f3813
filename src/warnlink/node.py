"""One party's node: the only module that knows every role.

A node assembles, for one party: the national reporters that turn its tracker's
estimates into launch reports, track reports, impact predictions and statuses;
the gateway that labels and sends them and checks what arrives; the picture of
everything received and produced; and, if the party hosts one, the relay.

The node is an async shell: it moves messages between the bus and pure cores
(release, picture, estimation) and reads time only from its injected clock.

A node with a data folder keeps, beside its audit logs, the gateway's outbox
(``outbox-<party>.sqlite``: what it sent and the bus has not acknowledged) and its
applied-log (``applied-<party>.sqlite``: every message its picture applied, its own
included, in order). A restarted node replays its applied-log into a new picture,
sends again what its outbox holds, and resumes its durable inbox after the last ack:
it ends with the picture it would have had without the restart.

What the bus acknowledged stays in the gateway's sent-archive (``sent-<party>.sqlite``)
for an hour, to answer a receiver's `ResendRequest`. A damaged applied-log entry found
at start is reported, quarantined (``applied-<party>.damaged.jsonl``) and asked for
again from the originators (`sharing.recovery`; open requests in
``recovery-<party>.json``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from warnlink.alerting.monitor import AlertMonitor
from warnlink.counters import Counters
from warnlink.errors import BusClosed, LabelError, MessageError, TransportError
from warnlink.estimation.reporter import TrackReporter
from warnlink.fusion.picture import Picture
from warnlink.geo.areas import Area
from warnlink.model import Envelope, Payload, Resend, ResendRequest, decode, encode
from warnlink.model.payloads import RESENDABLE
from warnlink.model.record import DataMode
from warnlink.model.time import NS_PER_S, Clock
from warnlink.model.track_estimate import TrackEstimate
from warnlink.security.signing import PartyKeys
from warnlink.sharing.audit import AuditLog
from warnlink.sharing.federation import Federation
from warnlink.sharing.gateway import HEARTBEAT_INTERVAL_S, Gateway
from warnlink.sharing.recovery import OpenRequest, Recovery, plan, quarantine
from warnlink.sharing.relay import Relay
from warnlink.sharing.replay import MemorySeenStore, SeenStore, SqliteSeenStore
from warnlink.sharing.subjects import parse_inbox
from warnlink.transport import Bus, Delivery, Subscription
from warnlink.transport.queue_store import (
    MemoryQueueStore,
    QueuedMessage,
    QueueStore,
    SqliteQueueStore,
)

log = logging.getLogger(__name__)

RETRY_S = 0.5


class Node:
    """One party's pipeline on a bus.

    Args:
        party: the party's code.
        federation: the federation it belongs to.
        bus: where it sends and receives.
        clock: the time source (a fake one in simulation).
        epoch_ns: UTC ns of time 0 of the tracker's estimates.
        keys: the party's signing key and the key set it trusts.
        audit_dir: where the gateway's and relay's audit logs and seen-stores
            (``seen-<party>-node.sqlite``, ``seen-<party>-relay.sqlite``) go; None keeps
            them in memory.
        on_original: called with every envelope this party originates (for checkers).
        host_relay: run the party's relay in this node, if it hosts one; False when the
            relay runs on its own (``warnlink up`` gives it a process of its own).
        zones: user alert zones for the party's alerting (`alerts`), besides its areas.
        on_applied: called with every received envelope the picture applies (for checkers).
    """

    def __init__(
        self,
        party: str,
        federation: Federation,
        bus: Bus,
        clock: Clock,
        *,
        epoch_ns: int,
        keys: PartyKeys,
        audit_dir: Path | None = None,
        on_original: Callable[[Envelope], None] | None = None,
        host_relay: bool = True,
        zones: tuple[Area, ...] = (),
        on_applied: Callable[[Envelope], None] | None = None,
    ) -> None:
        self.party = party
        self.clock = clock
        self.epoch_ns = epoch_ns
        self.counters = Counters()
        self.picture = Picture(party)
        self.alerts = AlertMonitor(party, zones)
        archive = sent_archive(audit_dir, party, clock)  # before the outbox is made
        self.gateway = Gateway(
            party,
            federation,
            bus,
            clock,
            counters=self.counters,
            audit=AuditLog(
                audit_dir / f"gateway-{party}.jsonl" if audit_dir else None, keys.own, clock=clock
            ),
            keys=keys,
            seen=seen_store(audit_dir, party, "node"),
            on_original=on_original,
            outbox=queue_store(audit_dir, f"outbox-{party}", "outbox"),
            archive=archive,
        )
        self.federation = federation
        self.audit_dir = audit_dir
        self.applied_log = queue_store(audit_dir, f"applied-{party}", "applied-log")
        self.recovery = Recovery(audit_dir / f"recovery-{party}.json" if audit_dir else None)
        self._on_applied = on_applied
        self._replay_applied_log()
        self.relay = (
            build_relay(party, federation, bus, clock, keys, audit_dir, self.counters)
            if party in federation.relays and host_relay
            else None
        )
        self.reporters: dict[int, TrackReporter] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriptions: list[Subscription] = []
        self._next_heartbeat_ns: int | None = None

    def _replay_applied_log(self) -> None:
        """Rebuild the picture from the applied-log. A damaged entry (its digest does not
        match) is counted (``applied_log.damaged``), reported, kept in the quarantine
        file, removed, and asked for again (`sharing.recovery`): the requests are on
        disk before the entry is gone, and sent by `start`. An intact entry that does
        not decode (written by another version) is counted (``applied_log.unreadable``),
        reported and left where it is."""
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
            except Exception:  # as in `_handle`: one message must not stop the node
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
            self.recovery.add(plan(entries, [*others, self.party], self.clock.now_ns()))
            folder = self.audit_dir
            quarantine(folder / f"applied-{self.party}.damaged.jsonl" if folder else None, damaged)
            for entry in damaged:
                self.applied_log.remove(entry.entry_id)
        self.recovery.note_held(entries)

    async def _ask_again(self) -> None:
        """Send every open recovery request (own messages are found in the own
        sent-archive, without asking anyone)."""
        for request in list(self.recovery.open):
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

    def _recover_own(self, request: OpenRequest) -> None:
        """Apply again this party's own messages in the request's range, from its
        sent-archive and its outbox (what the bus has not acknowledged yet); report the
        range as not recovered when the archive no longer reaches back to its start."""
        for data in self.gateway.own_sent(request.since, request.until):
            self._take_again(decode(data), request)
        self.recovery.close(request)
        self._closed(request, self.gateway.outbox.retained_since)

    def _take_again(self, envelope: Envelope, request: OpenRequest) -> None:
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
        except Exception:  # as in `_handle`: one message must not stop the node
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

    async def start(self) -> None:
        """Send again what the outbox holds, open the inboxes and start consuming them."""
        await self.gateway.flush_outbox()
        await self._ask_again()
        inbox = await self.gateway.open_inbox()
        self._subscriptions.append(inbox)
        self._tasks.append(asyncio.create_task(self._consume_inbox(inbox)))
        if self.relay is not None:
            await self.relay.flush_outbox()
            relay_inbox = await self.relay.open_inbox()
            self._subscriptions.append(relay_inbox)
            self._tasks.append(asyncio.create_task(serve_relay(self.relay, relay_inbox)))

    async def stop(self) -> None:
        """Stop consuming and close the audit logs."""
        for subscription in self._subscriptions:
            await subscription.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.gateway.audit.close()
        self.gateway.replay.store.close()
        self.gateway.outbox.store.close()
        if self.gateway.outbox.archive is not None:
            self.gateway.outbox.archive.close()
        self.applied_log.close()
        if self.relay is not None:
            close_relay(self.relay)

    async def _consume_inbox(self, inbox: Subscription) -> None:
        await consume(inbox, self._handle, self.counters)

    async def _handle(self, delivery: Delivery) -> None:
        envelope = self.gateway.receive(delivery)
        if envelope is not None:
            try:
                match envelope.payload:
                    case ResendRequest(originator=self.party):
                        await self.gateway.answer(envelope)
                    case ResendRequest():
                        self.counters.inc("rejected.resend_request.not_mine")
                    case Resend():
                        self._recover(envelope, envelope.payload, parse_inbox(delivery.subject)[1])
                    case _:
                        if self._apply(envelope) and self._on_applied is not None:
                            self._on_applied(envelope)
            except TransportError:
                raise  # the store failed: not acked, handled again (see `consume`)
            except Exception:  # a fault in a core must not stop the link (invariant 5)
                self.counters.inc("rejected.apply_failed")
                log.exception("%s could not apply %s", self.party, envelope.msg_id)
            self.gateway.record(envelope)

    def _recover(self, envelope: Envelope, answer: Resend, sender: str) -> None:
        """Apply, of the messages an originator sent again, those the node lacks; close
        the request at its last part, reporting a range the originator no longer has."""
        request = self.recovery.find(answer.request)
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
                self._take_again(inner, request)
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
        self.recovery.close(request)
        self._closed(request, answer.retained_since)

    async def report(self, estimate: TrackEstimate) -> None:
        """Turn one estimate of the national tracker into reports and send them."""
        reporter = self.reporters.get(estimate.track_number)
        if reporter is None:
            reporter = self.reporters[estimate.track_number] = TrackReporter(
                track_number=estimate.track_number, epoch_ns=self.epoch_ns
            )
        for payload in reporter.on_estimate(estimate):
            await self._send(payload)

    async def tick(self) -> None:
        """Time-driven work: the outbox sent again, heartbeats when due, status of tracks
        that ended, alerts."""
        await self.gateway.flush_outbox()
        if self.relay is not None:
            await self.relay.flush_outbox()
        now = self.clock.now_ns()
        if self._next_heartbeat_ns is None or now >= self._next_heartbeat_ns:
            await self.gateway.send_heartbeats()
            self._next_heartbeat_ns = now + round(HEARTBEAT_INTERVAL_S * NS_PER_S)
        for reporter in self.reporters.values():
            for payload in reporter.on_time(now):
                await self._send(payload)
        self.alerts.update(self.picture, now)

    async def _send(self, payload: Payload) -> None:
        self._apply(await self.gateway.send(payload, data_mode=DataMode.SIMULATED))

    def _apply(self, envelope: Envelope) -> bool:
        """Log as applied, then apply to the picture; False if it was applied before.

        The log comes first: a store that fails raises before the picture changed, so
        the redelivery is applied (and logged) then; the other way round, the picture
        would drop the redelivery as a repeat and the log would never hold it.
        """
        if self.picture.has_applied(envelope.msg_id):
            return False
        now = self.clock.now_ns()
        self.applied_log.append("", envelope.msg_id, encode(envelope), now)
        if not self.picture.apply(envelope, now):
            return False
        self.alerts.record(envelope)
        if self.recovery.open:
            self.recovery.note_applied(envelope)
        return True


def seen_store(audit_dir: Path | None, party: str, role: str) -> SeenStore:
    """The seen-store of `party`'s `role` (``node`` or ``relay``): a file in
    `audit_dir`, or memory when None."""
    if audit_dir is None:
        return MemorySeenStore()
    return SqliteSeenStore(audit_dir / f"seen-{party}-{role}.sqlite")


def queue_store(
    folder: Path | None, name: str, what: str, *, synchronous: str = "FULL"
) -> QueueStore:
    """A durable queue ``<name>.sqlite`` in `folder`, or memory when None."""
    if folder is None:
        return MemoryQueueStore()
    return SqliteQueueStore(folder / f"{name}.sqlite", what=what, synchronous=synchronous)


def sent_archive(folder: Path | None, party: str, clock: Clock) -> QueueStore:
    """`party`'s sent-archive in `folder` (memory when None). Made anew beside an
    outbox that already exists (the node sent before it had one: an upgrade, a file
    removed), it says it holds nothing sent before now."""
    if folder is None:
        return MemoryQueueStore()
    path = folder / f"sent-{party}.sqlite"
    anew = not path.exists() and (folder / f"outbox-{party}.sqlite").exists()
    archive = SqliteQueueStore(path, what="sent archive", synchronous="NORMAL")
    if anew:
        archive.mark_pruned(clock.now_ns())
    return archive


def build_relay(
    party: str,
    federation: Federation,
    bus: Bus,
    clock: Clock,
    keys: PartyKeys,
    folder: Path | None,
    counters: Counters,
) -> Relay:
    """`party`'s relay, its audit log (heads signed with its key) and seen-store in
    `folder` (in memory when None)."""
    return Relay(
        party,
        federation,
        bus,
        clock,
        audit=AuditLog(folder / f"relay-{party}.jsonl" if folder else None, keys.own, clock=clock),
        counters=counters,
        keys=keys,
        seen=seen_store(folder, party, "relay"),
        outbox=queue_store(folder, f"outbox-{party}-relay", "relay outbox"),
    )


def close_relay(relay: Relay) -> None:
    """Close `relay`'s audit log, seen-store and outbox."""
    relay.audit.close()
    relay.replay.store.close()
    relay.outbox.store.close()


async def serve_relay(relay: Relay, inbox: Subscription) -> None:
    """Let `relay` decide on everything arriving at its inbox, acking each once handled."""

    async def handle(delivery: Delivery) -> None:
        await relay.handle(delivery)

    await consume(inbox, handle, relay.counters)


async def consume(
    inbox: Subscription,
    handle: Callable[[Delivery], Awaitable[None]],
    counters: Counters,
    *,
    retry_s: float = RETRY_S,
) -> None:
    """Hand every delivery of `inbox` to `handle`, then ack it, until the inbox closes.

    A bus failure (a pull, an ack or a store that fails) is counted
    (``transport.failed``), logged and retried after `retry_s`; it never ends the loop:
    what was not acked comes back after the ack wait, and is handled once.
    """
    while True:
        try:
            async for delivery in inbox:
                await handle(delivery)
                await inbox.ack(delivery)
            return
        except BusClosed:
            return
        except TransportError as exc:
            counters.inc("transport.failed")
            log.warning("%s: %s; retrying", inbox.durable, exc)
            await asyncio.sleep(retry_s)
