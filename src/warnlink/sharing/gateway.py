"""A party's gateway: labels and sends its own reports, receives what reaches it.

Outbound, the originator's standing rules label each report; the gateway then
routes it, recipient by recipient (`routing.route`): to a link peer, the gateway
decides itself with the release function and sends the peer only what is released
to it (also when the peer hosts a relay); to a recipient behind a relay, the
labelled message goes to that relay once (the relay decides for the recipients
routed through it). A recipient no route reaches is counted (``gateway.unroutable``)
and logged. Heartbeats go to every link peer.

Every envelope the gateway originates is signed with the party's key and numbered
by a `replay.SeqAllocator`, so its seqs continue across restarts. Reports are signed
in short batches (`security.sign_window`: what is ready within `sign_window_s`, at most
64, under one signature, each with its own path) and routed once signed, in order;
`Gateway.settle` waits until every report sent so far is in the outbox. Link messages
(heartbeats, link-local, resend answers) are signed alone at once. Inbound, every
delivery is checked at the edge (`inbound.accept`, signatures included), then for
freshness and replay (`replay.ReplayGuard`, after the signature so a forgery never
enters the seen-set); a refused one is counted and acknowledged so the link keeps
flowing, a redelivery is dropped and counted (``duplicate``). The caller marks an
accepted envelope seen (`Gateway.record`) once it has handled it.

What it originates is first checked as a receiver will check it (`model.bounds`,
`model.plausibility`): a gateway never sends what its receivers refuse.

Everything the gateway originates goes through its `outbox.Outbox`: kept until the
bus acknowledges it, sent again by `Gateway.flush_outbox` (the node calls it at
start and on every tick), so a link outage delays a message and never drops it.
Heartbeats do not: a late heartbeat says nothing, so a failed one is only counted
(``heartbeat.failed``). What the bus acknowledged stays in the outbox's sent-archive for
its retention time, from which `Gateway.answer` sends a receiver again what it asks for
(`ResendRequest`, case 6 of docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

from warnlink.counters import Counters
from warnlink.errors import ConfigError, MessageError, TransportError
from warnlink.model import (
    Envelope,
    Heartbeat,
    Payload,
    Resend,
    ResendRequest,
    SecurityLabel,
    decode,
    encode,
    kind_of,
    new_envelope,
)
from warnlink.model.payloads import RESENDABLE
from warnlink.model.plausibility import check_plausible
from warnlink.model.record import DataMode
from warnlink.model.time import Clock
from warnlink.security.sign_window import SignWindow
from warnlink.security.signing import PartyKeys, sign
from warnlink.security.verify_pool import VerifyPool, map_checked
from warnlink.sharing.audit import AuditLog
from warnlink.sharing.federation import Federation
from warnlink.sharing.inbound import accept
from warnlink.sharing.outbox import DEFAULT_RETAIN_S, Outbox
from warnlink.sharing.replay import ReplayGuard, SeenStore, SeqAllocator, Verdict
from warnlink.sharing.routing import Route, relays_between, route, routes
from warnlink.sharing.subjects import node_inbox, node_inbox_filter, parse_inbox, relay_inbox
from warnlink.sharing.wire import publish_envelope, release
from warnlink.transport import Bus, Delivery, Subscription
from warnlink.transport.queue_store import MemoryQueueStore, QueueStore

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 5.0
#: The most bytes of messages one `Resend` carries: with a relay's countersignatures
#: added, and base64 in the JSON form, it stays under the 64 KiB message limit.
RESEND_PART_BYTES = 40_000
#: How far around a requested range the sent-archive is read: its times are when a
#: message was kept, a little after it was created.
_ARCHIVE_SLACK_NS = 60 * 1_000_000_000


class Gateway:
    """One party's door to its bilateral links."""

    def __init__(
        self,
        party: str,
        federation: Federation,
        bus: Bus,
        clock: Clock,
        *,
        counters: Counters,
        audit: AuditLog,
        keys: PartyKeys,
        seen: SeenStore,
        on_original: Callable[[Envelope], None] | None = None,
        outbox: QueueStore | None = None,
        archive: QueueStore | None = None,
        retain_s: float = DEFAULT_RETAIN_S,
        sign_window_s: float = 0.0,
    ) -> None:
        if keys.party != party:
            raise ConfigError(f"{party}'s gateway given {keys.party}'s key")
        self.party = party
        self.keys = keys
        self.federation = federation
        self.bus = bus
        self.clock = clock
        self.counters = counters
        self.audit = audit
        self.replay = ReplayGuard(seen, clock, federation.freshness_window_s, party=party)
        self._on_original = on_original
        self._seqs = SeqAllocator(seen)
        store = MemoryQueueStore() if outbox is None else outbox
        self.outbox = Outbox(bus, store, clock, counters, archive=archive, retain_s=retain_s)
        #: Told of every delivery refused (subject, bytes, error): the dead letters.
        self.on_rejected: Callable[[str, bytes, MessageError], None] | None = None
        #: Where `receive_batch` checks deliveries off the event loop; None: on it.
        self.verify_pool: VerifyPool | None = None
        #: Where reports wait to be signed together (0 s: each signed alone at once).
        self.signing = SignWindow(keys.own, self._route_all, window_s=sign_window_s)
        self._unsent: list[Envelope] = []  # signed, in order, not yet routed

    def _envelope(
        self, payload: Payload, label: SecurityLabel, data_mode: DataMode | None = None
    ) -> Envelope:
        """A link message, checked and signed alone."""
        return self._signed(self._checked(payload, label, data_mode))

    def _signed(self, envelope: Envelope) -> Envelope:
        envelope = sign(envelope, self.keys.own)
        if self._on_original is not None:
            self._on_original(envelope)
        return envelope

    def _checked(
        self, payload: Payload, label: SecurityLabel, data_mode: DataMode | None = None
    ) -> Envelope:
        """A new envelope of this party, checked as a receiver will check it; unsigned."""
        envelope = new_envelope(
            originator=self.party,
            seq=self._seqs.next(),
            created=self.clock.now_ns(),
            label=label,
            payload=payload,
            data_mode=data_mode,
        )
        try:
            # Decoded as a receiver would, so the wire's bounds apply too.
            check_plausible(decode(encode(envelope)), window_s=self.federation.freshness_window_s)
        except MessageError as exc:
            self.counters.inc(f"gateway.refused.{exc.counter_key}")
            log.warning("%s will not send %s: %s", self.party, envelope.kind, exc)
            raise
        return envelope

    async def send(
        self,
        payload: Payload,
        label: SecurityLabel | None = None,
        *,
        data_mode: DataMode | None = None,
    ) -> Envelope:
        """Label `payload` by the standing rules (or with `label`) and send it where it
        is released, once signed. A report must say its `data_mode` (`Envelope.data_mode`).

        Returns the envelope as labelled, also when it is released to nobody (it then
        stays with its originator): signed, with no signing window; else unsigned, its
        signed form sent (and told to ``on_original``) when its window closes.

        Raises:
            MessageError: `payload` is one receivers would refuse (out of the bounds of
                `model.bounds`, or implausible: `model.plausibility`); counted as
                ``gateway.refused.<kind>``, nothing sent.
        """
        if label is None:
            label = self.federation.label_for(self.party, kind_of(payload))
        envelope = self._checked(payload, label, data_mode)
        if self.signing.window_s > 0:
            self.signing.submit(envelope)
            return envelope
        envelope = self._signed(envelope)
        await self._route(envelope)
        return envelope

    async def settle(self) -> None:
        """Sign what waits in the signing window and wait until every report sent so
        far is routed (in the outbox, for what is released).

        Raises:
            TransportError: a signed report could not be routed (its store failed);
                it is kept, and tried again at the next `settle` or `flush_outbox`.
        """
        await self.signing.settle()
        await self._route_unsent()
        if self._unsent:
            raise TransportError(f"{self.party}: {len(self._unsent)} signed reports not routed")

    async def _route_all(self, batch: list[Envelope]) -> None:
        """Route a signed batch, in order, after any report still unrouted."""
        for envelope in batch:
            if self._on_original is not None:
                self._on_original(envelope)
        self._unsent.extend(batch)
        await self._route_unsent()

    async def _route_unsent(self) -> None:
        """Route the signed reports not yet routed, in order, until one fails to be
        stored (counted as ``gateway.send_failed``, kept for the next try)."""
        async with self.outbox.batch():  # one disk sync and one round trip for them all
            while self._unsent:
                try:
                    await self._route(self._unsent[0])
                except TransportError as exc:
                    self.counters.inc("gateway.send_failed")
                    log.warning("%s could not send %s: %s", self.party, self._unsent[0].msg_id, exc)
                    return
                self._unsent.pop(0)

    async def _route(self, envelope: Envelope) -> None:
        """Send a signed envelope by each of its routes."""
        if not envelope.label.rel_to:
            self.counters.inc("gateway.unreleased")
            return
        found = []
        for way in routes(self.federation, envelope):
            if isinstance(way, Route):
                found.append(way)
                continue
            self.counters.inc("gateway.unroutable")
            log.warning("%s: no route for %s to %s", self.party, envelope.msg_id, way)
        await self._dispatch(envelope, encode(envelope), found)
        self.counters.inc(f"sent.{envelope.kind}")

    async def _dispatch(self, envelope: Envelope, data: bytes, found: list[Route]) -> None:
        """Send `envelope` by each route: released directly, or to each relay once."""
        relays_used: set[str] = set()
        for way in found:
            if way.via is not None:
                if way.via not in relays_used:
                    relays_used.add(way.via)
                    await publish_envelope(
                        self.outbox, relay_inbox(way.via, self.party), envelope, data
                    )
                continue
            decision = await release(
                envelope,
                way.recipient,
                decider=self.party,
                content=data,
                bus=self.outbox,
                audit=self.audit,
                clock=self.clock,
            )
            self.counters.inc(f"gateway.{decision.outcome.value}")

    async def send_to(self, payload: Payload, recipient: str) -> Envelope:
        """Send `payload` to `recipient` alone (a request, an answer), by its route."""
        return await self.send(payload, SecurityLabel(self.federation.classification, (recipient,)))

    async def answer(self, request: Envelope) -> int:
        """Send the requester again what this party sent it in the requested range,
        from the sent-archive, in `Resend` parts (the last one marked, sent also when
        nothing matches); how many messages.

        What went straight to the requester is sent as it went (the product it was
        given), straight; what went through a relay is sent as the original, through
        the same relay, for it to decide on again: each part goes one way, so a relay
        sees again only what it carried. The parts are numbered across ways, the
        last one marked. The archive is read a page at a time and each part sent as
        it fills, so a long range neither sits in memory nor holds the node's loop.
        """
        asked = request.payload
        assert isinstance(asked, ResendRequest)
        requester = request.originator
        parts: dict[str | None, list[bytes]] = {}
        sizes: dict[str | None, int] = {}
        number = count = 0
        async for via, data in self._sent_to(requester, asked.since, asked.until):
            part = parts.setdefault(via, [])
            if part and sizes[via] + len(data) > RESEND_PART_BYTES:
                number += 1
                await self._send_part(request, part, number, last=False, via=via)
                part = parts[via] = []
                sizes[via] = 0
            part.append(data)
            sizes[via] = sizes.get(via, 0) + len(data)
            count += 1
        ways = [via for via, part in parts.items() if part] or [
            self._answer_way(request.originator)
        ]
        for i, via in enumerate(ways):
            number += 1
            await self._send_part(
                request, parts.get(via, []), number, last=i == len(ways) - 1, via=via
            )
        log.info(
            "%s sent %s again %d messages created in (%d, %d]: %s",
            self.party,
            requester,
            count,
            asked.since,
            asked.until,
            asked.reason,
        )
        self.counters.inc("resend.answered")
        self.counters.inc("resend.messages", count)
        return count

    def _answer_way(self, requester: str) -> str | None:
        """How an answer carrying nothing goes: straight, or through the first relay."""
        control = SecurityLabel(self.federation.classification, (requester,))
        found = route(self.federation, self.party, "resend_request", control, requester)
        return None if found is None else found.via

    async def _send_part(
        self,
        request: Envelope,
        messages: list[bytes],
        number: int,
        *,
        last: bool,
        via: str | None,
    ) -> None:
        answer = Resend(
            trk_id=0,
            request=request.msg_id,
            to=request.originator,
            messages=tuple(messages),
            part=number,
            last=last,
            retained_since=self.outbox.retained_since,
        )
        requester = request.originator
        envelope = self._envelope(
            answer, SecurityLabel(self.federation.classification, (requester,))
        )
        await self._dispatch(envelope, encode(envelope), [Route(requester, via)])
        self.counters.inc(f"sent.{envelope.kind}")

    async def _sent_to(
        self, requester: str, since: int, until: int
    ) -> AsyncIterator[tuple[str | None, bytes]]:
        """What this party sent `requester` created in (since, until], as kept in the
        archive, a page at a time, each with the relay it went through (None: direct).
        A message sent to a relay counts when its route to `requester` is that relay."""
        direct = node_inbox(requester, self.party)
        relays = {
            relay_inbox(r, self.party): r
            for r in relays_between(self.federation, self.party, requester)
        }
        subjects = [direct, *relays]
        first = max(since, self.outbox.retained_since) - _ARCHIVE_SLACK_NS
        after_id = 0
        while page := self.outbox.retained(
            first, until + _ARCHIVE_SLACK_NS, subjects=subjects, after_id=after_id
        ):
            after_id = page[-1].entry_id
            for entry in page:
                try:
                    envelope = decode(entry.data)
                except MessageError:
                    continue  # the archive only holds what this party encoded
                if not (
                    envelope.originator == self.party
                    and since < envelope.created <= until
                    and isinstance(envelope.payload, RESENDABLE)
                ):
                    continue
                if entry.subject == direct:
                    yield None, entry.data
                    continue
                way = route(self.federation, self.party, envelope.kind, envelope.label, requester)
                if way is not None and way.via == relays.get(entry.subject):
                    yield way.via, entry.data
            await asyncio.sleep(0)  # let the node's other work in between pages

    def own_sent(self, since: int, until: int) -> Iterator[bytes]:
        """This party's own messages (as originated, not a product made of one) created
        in (since, until], as kept in the archive or still waiting in the outbox; each
        once."""
        seen: set[str] = set()
        first, last = since - _ARCHIVE_SLACK_NS, until + _ARCHIVE_SLACK_NS
        after_id = 0
        pages = [self.outbox.waiting()]
        while page := self.outbox.retained(first, last, after_id=after_id):
            after_id = page[-1].entry_id
            pages.append(page)
        for entry in (e for page in pages for e in page):
            try:
                envelope = decode(entry.data)
            except MessageError:
                continue
            if (
                envelope.originator == self.party
                and not envelope.withheld  # a redaction for a peer shares the id
                and envelope.msg_id not in seen
                and since < envelope.created <= until
                and isinstance(envelope.payload, RESENDABLE)
            ):
                seen.add(envelope.msg_id)
                yield entry.data

    def check_resent(self, data: bytes, sender: str) -> Envelope:
        """Check one message inside a `Resend` from `sender` at the edge, as if `sender`
        had delivered it (no replay rules: it is old by design).

        Raises:
            MessageError: as `inbound.accept`.
        """
        return accept(
            data,
            party=self.party,
            sender=sender,
            federation=self.federation,
            keyset=self.keys.keyset,
        )

    async def send_heartbeats(self) -> None:
        """Tell every link peer this party is alive."""
        for peer in self.federation.peers(self.party):
            label = SecurityLabel(self.federation.classification, (peer,))
            envelope = self._envelope(Heartbeat(trk_id=0, interval_s=HEARTBEAT_INTERVAL_S), label)
            try:
                await publish_envelope(self.bus, node_inbox(peer, self.party), envelope)
            except TransportError as exc:
                self.counters.inc("heartbeat.failed")
                log.info("%s: no heartbeat to %s: %s", self.party, peer, exc)

    async def send_link_local(self, payload: Payload, peer: str, subject: str) -> bool:
        """Send `peer` a link-local message (`model.payloads.LINK_LOCAL`) on `subject`,
        straight on the bus: a late one says nothing, so a failed send is only counted
        (``link_local.failed``). Whether the bus took it."""
        label = SecurityLabel(self.federation.classification, (peer,))
        try:
            await publish_envelope(self.bus, subject, self._envelope(payload, label))
        except TransportError as exc:
            self.counters.inc("link_local.failed")
            log.info("%s: no %s to %s: %s", self.party, kind_of(payload), peer, exc)
            return False
        return True

    async def flush_outbox(self) -> int:
        """Sign and route what waits in the signing window, then send again what the
        outbox holds; how many messages the bus acknowledged."""
        await self.signing.settle()
        await self._route_unsent()
        return await self.outbox.flush()

    async def open_inbox(self) -> Subscription:
        """The durable subscription to this party's inbox."""
        return await self.bus.subscribe(node_inbox_filter(self.party), durable=f"node-{self.party}")

    def receive(self, delivery: Delivery) -> Envelope | None:
        """Check one delivery at the edge; the envelope if new and accepted, else None.

        A refused delivery is counted (``rejected.<kind>``), a redelivery of a message
        already handled too (``duplicate``). The caller handles the envelope, then
        calls `record`.
        """
        return self._admit(delivery, map_checked(self._accept, [delivery])[0])

    async def receive_batch(self, deliveries: Sequence[Delivery]) -> list[Envelope | None]:
        """`receive` of each delivery, in order, with the edge checks (signatures:
        once per batch root) in the verify pool, off the event loop, if the gateway
        has one."""
        if self.verify_pool is None:
            checked = map_checked(self._accept, deliveries)
        else:
            checked = await self.verify_pool.map(self._accept, deliveries)
        return [self._admit(d, c) for d, c in zip(deliveries, checked, strict=True)]

    def _accept(self, delivery: Delivery) -> Envelope:
        """The edge checks of `inbound.accept`; touches nothing of the gateway's."""
        _, sender = parse_inbox(delivery.subject)
        return accept(
            delivery.data,
            party=self.party,
            sender=sender,
            federation=self.federation,
            keyset=self.keys.keyset,
        )

    def _admit(self, delivery: Delivery, checked: Envelope | MessageError) -> Envelope | None:
        """The envelope if it passed the edge checks and is no replay, else None (counted)."""
        try:
            if isinstance(checked, MessageError):
                raise checked
            envelope = checked
            verdict = self.replay.check(envelope)
        except MessageError as exc:
            self.counters.inc(f"rejected.{exc.counter_key}")
            log.warning("%s refused a delivery on %s: %s", self.party, delivery.subject, exc)
            if self.on_rejected is not None:
                self.on_rejected(delivery.subject, delivery.data, exc)
            return None
        if verdict is Verdict.DUPLICATE:
            self.counters.inc("duplicate")
            log.debug("%s dropped a redelivery of %s", self.party, envelope.msg_id)
            return None
        self.counters.inc(f"received.{envelope.kind}")
        self.counters.inc(f"path.{envelope.originator}.{parse_inbox(delivery.subject)[1]}")
        return envelope

    def record(self, envelope: Envelope) -> None:
        """Mark a received envelope seen, once it is fully handled."""
        self.replay.record(envelope)
