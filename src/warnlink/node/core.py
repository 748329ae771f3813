"""One party's node: the only module that knows every role.

A node assembles, for one party: the reporters that turn its national systems' track
states (`model.record.SourceRecord`, handed in by the input port, `sources.intake`)
into launch reports, track reports, impact predictions and statuses; the gateway that
labels and sends them and checks what arrives; the picture of everything received and
produced; the party's alerting; and, if the party hosts one, the relay.

The node is an async shell: it moves messages between the bus and pure cores
(release, picture, estimation) and reads time only from its injected clock. Its stores
are in `node.stores`; what a restart replays and how damaged entries are recovered, in
`node.recovery`: a restarted node ends with the picture it would have had without the
restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from warnlink.alerting.monitor import AlertMonitor
from warnlink.counters import Counters
from warnlink.errors import TransportError, WitnessError
from warnlink.estimation.reporter import TrackReporter, day_start_ns
from warnlink.fusion.picture import Picture
from warnlink.geo.areas import Area
from warnlink.model import Envelope, Payload, Resend, ResendRequest, encode
from warnlink.model.payloads import HeadCosignature, TreeHead
from warnlink.model.record import DataMode, SourceRecord
from warnlink.model.time import NS_PER_S, Clock
from warnlink.node.consume import Rejects, consume, serve_relay
from warnlink.node.recovery import NodeRecovery
from warnlink.node.stores import (
    GroupCommit,
    build_relay,
    close_relay,
    queue_store,
    seen_store,
    sent_archive,
)
from warnlink.security.signing import PartyKeys
from warnlink.sharing.audit import AuditLog
from warnlink.sharing.federation import Federation
from warnlink.sharing.gateway import HEARTBEAT_INTERVAL_S, Gateway
from warnlink.sharing.subjects import parse_inbox, relay_inbox
from warnlink.sharing.witness import Witness, encode_record
from warnlink.transport import Bus, Delivery, Subscription
from warnlink.transport.dead_letters import dead_letters

log = logging.getLogger(__name__)


class Node:
    """One party's pipeline on a bus.

    Args:
        party: the party's code.
        federation: the federation it belongs to.
        bus: where it sends and receives.
        clock: the time source (a fake one in simulation).
        keys: the party's signing key and the key set it trusts.
        audit_dir: where the gateway's and relay's audit logs and the node's stores go
            (`node.stores`); None keeps them in memory.
        on_original: called with every envelope this party originates (for checkers).
        host_relay: run the party's relay in this node, if it hosts one; False when the
            relay runs on its own (``warnlink up`` gives it a process of its own).
        zones: user alert zones for the party's alerting (`alerts`), besides its areas.
        on_applied: called with every received envelope the picture applies (for checkers).
        sign_window_s: how long a report waits to be signed with others, s
            (`security.sign_window`; 0: each signed alone as it is made, and sent
            before `Gateway.send` returns). `warnlink up` signs in windows
            (`runtime.NodeRuntime.open`).
    """

    def __init__(
        self,
        party: str,
        federation: Federation,
        bus: Bus,
        clock: Clock,
        *,
        keys: PartyKeys,
        audit_dir: Path | None = None,
        on_original: Callable[[Envelope], None] | None = None,
        host_relay: bool = True,
        zones: tuple[Area, ...] = (),
        on_applied: Callable[[Envelope], None] | None = None,
        sign_window_s: float = 0.0,
    ) -> None:
        self.party = party
        self.clock = clock
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
            sign_window_s=sign_window_s,
        )
        self.federation = federation
        self.witness = Witness(keys.own, keys.keyset, federation.relays, clock, audit_dir)
        self.applied_log = queue_store(audit_dir, f"applied-{party}", "applied-log")
        self._on_applied = on_applied
        self.resends = NodeRecovery(
            party,
            federation,
            clock,
            self.counters,
            picture=self.picture,
            alerts=self.alerts,
            applied_log=self.applied_log,
            gateway=self.gateway,
            folder=audit_dir,
            apply=self._apply,
            on_applied=on_applied,
        )
        self.recovery = self.resends.requests
        self.resends.replay_applied_log()
        self.relay = (
            build_relay(party, federation, bus, clock, keys, audit_dir, self.counters)
            if party in federation.relays and host_relay
            else None
        )
        self.rejects = Rejects(self.counters, clock, dead_letters(audit_dir, party))
        self.gateway.on_rejected = self.rejects.refused
        self.reporters: dict[int, TrackReporter] = {}
        self._modes: dict[int, DataMode] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriptions: list[Subscription] = []
        self._next_heartbeat_ns: int | None = None

    async def start(self) -> None:
        """Send again what the outbox holds, open the inboxes and start consuming them."""
        await self.gateway.flush_outbox()
        await self.resends.ask_again()
        inbox = await self.gateway.open_inbox()
        self._subscriptions.append(inbox)
        group = GroupCommit(logs=(self.applied_log,), seen=(self.gateway.replay.store,))
        self._tasks.append(
            asyncio.create_task(
                consume(
                    inbox,
                    self._handle,
                    self.counters,
                    rejects=self.rejects,
                    group=group,
                    handle_many=self._handle_batch,
                )
            )
        )
        if self.relay is not None:
            await self.relay.flush_outbox()
            relay_inbox = await self.relay.open_inbox()
            self._subscriptions.append(relay_inbox)
            self._tasks.append(
                asyncio.create_task(serve_relay(self.relay, relay_inbox, self.rejects))
            )

    @property
    def consumers(self) -> tuple[asyncio.Task[None], ...]:
        """The tasks consuming the node's inboxes (and its relay's), once started."""
        return tuple(self._tasks)

    async def settle(self) -> None:
        """Wait until every report made so far is signed and in the outbox, and its
        applied-log entry on disk (`ingest` writes them deferred: one disk sync for
        what the intake handed over since the last settle, not one per report)."""
        await self.gateway.settle()
        self.applied_log.sync()

    async def stop(self) -> None:
        """Send what waits to be signed, stop consuming and close the audit logs and
        stores."""
        with contextlib.suppress(TransportError):  # records not done: handed over again
            await self.settle()
        # The answers of what was sent, before the stores close: what has none yet
        # stays kept and goes again at the next start.
        await self.gateway.outbox.settle()
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
        self.rejects.letters.close()
        if self.relay is not None:
            close_relay(self.relay)

    async def _handle(self, delivery: Delivery) -> None:
        envelope = self.gateway.receive(delivery)
        if envelope is not None:
            await self._take(envelope, delivery)

    async def _handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        """`_handle` of each delivery, in order, the reports' applied-log entries written
        together: a run of reports is checked, logged in one statement, applied, then
        marked seen (`_apply_run`). A run ends before a message that is not a report
        (handled alone, as `_handle` does) and before one whose (originator, seq) it
        holds: that one is checked again once the run is marked seen, so the replay
        rules see it as `_handle` would (a redelivery dropped, a reused seq refused)."""
        run: list[tuple[Envelope, bytes]] = []
        held: set[tuple[str, int]] = set()
        for delivery in deliveries:
            envelope = self.gateway.receive(delivery)
            if envelope is None:
                continue
            if (envelope.originator, envelope.seq) in held:
                self._apply_run(run)
                run, held = [], set()
                envelope = self.gateway.receive(delivery)
                if envelope is None:
                    continue
            if isinstance(envelope.payload, ResendRequest | Resend | TreeHead):
                self._apply_run(run)
                run, held = [], set()
                await self._take(envelope, delivery)
                continue
            run.append((envelope, delivery.data))
            held.add((envelope.originator, envelope.seq))
        self._apply_run(run)

    async def _take(self, envelope: Envelope, delivery: Delivery) -> None:
        """Handle one accepted envelope by its kind, then mark it seen."""
        try:
            match envelope.payload:
                case ResendRequest(originator=self.party):
                    await self.gateway.answer(envelope)
                case ResendRequest():
                    self.counters.inc("rejected.resend_request.not_mine")
                case Resend():
                    sender = parse_inbox(delivery.subject)[1]
                    self.resends.answered(envelope, envelope.payload, sender)
                case TreeHead():
                    await self._witness(envelope, envelope.payload)
                case _:
                    if self._apply(envelope, deferred=True) and self._on_applied is not None:
                        self._on_applied(envelope)
        except TransportError:
            raise  # the store failed: not acked, handled again (see `consume`)
        except Exception:  # a fault in a core must not stop the link (invariant 5)
            self._apply_failed(envelope)
        self.gateway.record(envelope)

    def _apply_run(self, run: Sequence[tuple[Envelope, bytes]]) -> None:
        """Log the reports of `run` (each with the bytes it came as) not applied before
        in one deferred write (synced by the batch's commit), then apply each, then mark
        them all seen.

        The log first, for the run as `_apply` does for one message: a store that fails
        raises before the picture changed or anything was marked seen, so the batch
        comes again whole.
        """
        if not run:
            return
        now = self.clock.now_ns()
        new = [(e, data) for e, data in run if not self.picture.has_applied(e.msg_id)]
        self.applied_log.append_many([("", e.msg_id, data) for e, data in new], now)
        for envelope, _ in new:
            try:
                if self._picture_apply(envelope, now) and self._on_applied is not None:
                    self._on_applied(envelope)
            except TransportError:
                raise  # as in `_take`: the batch comes again, logged entries applied once
            except Exception:  # a fault in a core must not stop the link (invariant 5)
                self._apply_failed(envelope)
        for envelope, _ in run:
            self.gateway.record(envelope)

    def _apply_failed(self, envelope: Envelope) -> None:
        self.counters.inc("rejected.apply_failed")
        log.exception("%s could not apply %s", self.party, envelope.msg_id)

    async def _witness(self, envelope: Envelope, head: TreeHead) -> None:
        """Check a relay's tree head against the last one witnessed, countersign it and
        send the countersignature back (`sharing.witness`); a fork or a rollback is
        counted (``witness.<rule>``) and logged as an error."""
        relay = envelope.originator
        try:
            record = self.witness.take(relay, head, msg_id=envelope.msg_id)
        except WitnessError as exc:
            self.counters.inc(f"witness.{exc.rule}")
            log.error(
                "%s: relay %s's audit log forked or rolled back? its tree head refused (%s): %s",
                self.party,
                relay,
                exc.rule,
                exc,
            )
            return
        self.counters.inc("witness.cosigned")
        cosignature = HeadCosignature(trk_id=0, record=encode_record(record))
        await self.gateway.send_link_local(cosignature, relay, relay_inbox(relay, self.party))

    async def ingest(self, record: SourceRecord, track_number: int) -> None:
        """Turn one record of a national source into reports and send them.

        `track_number` is this party's number for the source's track (the input port
        gives one per (source, track id): `sources.intake`); the reports carry the
        record's data mode. Their applied-log entries are synced by `settle`, which
        the intake awaits before it marks the record done.
        """
        for payload in self._reporter(record, track_number).on_record(record):
            await self._send(payload, record.data_mode, deferred=True)

    def restore(self, record: SourceRecord, track_number: int) -> None:
        """Let the track's reporter know a record it saw before a restart (the input
        port replays them: `sources.intake`), sending nothing: it was sent then."""
        self._reporter(record, track_number).on_record(record)

    def _reporter(self, record: SourceRecord, track_number: int) -> TrackReporter:
        reporter = self.reporters.get(track_number)
        if reporter is None:
            reporter = self.reporters[track_number] = TrackReporter(
                track_number=track_number, epoch_ns=day_start_ns(record.epoch_ns)
            )
            self._modes[track_number] = record.data_mode
        return reporter

    async def tick(self) -> None:
        """Time-driven work: the outbox sent again, heartbeats when due, status of tracks
        that ended, alerts."""
        await self.gateway.flush_outbox()
        if self.relay is not None:
            await self.relay.flush_outbox()
            await self.relay.heads.tick()
        now = self.clock.now_ns()
        if self._next_heartbeat_ns is None or now >= self._next_heartbeat_ns:
            await self.gateway.send_heartbeats()
            self._next_heartbeat_ns = now + round(HEARTBEAT_INTERVAL_S * NS_PER_S)
        # A copy: the intake may hand a new track over while a status is being sent.
        for number, reporter in list(self.reporters.items()):
            for payload in reporter.on_time(now):
                await self._send(payload, self._modes[number])
        self.alerts.update(self.picture, now)

    async def _send(self, payload: Payload, data_mode: DataMode, *, deferred: bool = False) -> None:
        self._apply(await self.gateway.send(payload, data_mode=data_mode), deferred=deferred)

    def _apply(self, envelope: Envelope, *, deferred: bool = False) -> bool:
        """Log as applied, then apply to the picture; False if it was applied before.

        The log comes first: a store that fails raises before the picture changed, so
        the redelivery is applied (and logged) then; the other way round, the picture
        would drop the redelivery as a repeat and the log would never hold it.
        `deferred` (a consumer's batch, a record handed over): the entry is synced by
        the batch's commit, or by `settle`.
        """
        if self.picture.has_applied(envelope.msg_id):
            return False
        now = self.clock.now_ns()
        self.applied_log.append("", envelope.msg_id, encode(envelope), now, deferred=deferred)
        return self._picture_apply(envelope, now)

    def _picture_apply(self, envelope: Envelope, now: int) -> bool:
        """Apply a logged envelope to the picture and tell alerting and recovery;
        False if the picture did not take it."""
        if not self.picture.apply(envelope, now):
            return False
        self.alerts.record(envelope)
        self.resends.note_applied(envelope)
        return True
