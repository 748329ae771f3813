"""The relay: connects bilateral links, forwarding only what originators released.

For each message an originator sends to it, the relay checks the message (it
decodes, comes from the party named by the subject over a link the relay's party
has, is issued by that party, carries that party's valid signature and is
physical, `model.plausibility`), then is fresh and no replay (`replay.ReplayGuard`),
then decides for every recipient whose route from the originator goes through this
relay (`routing.passes_on`: the gateway sends the others directly or elsewhere):
forward, redact or refuse, by the originator's label. A message routed through it
to nobody is refused and audited (``not_routed``). What it sends on it countersigns,
the products of a batch of deliveries (`Relay.handle_batch`) under one countersignature
with a path each (`signing.countersign_batch`), so each product verifies alone;
a redacted product is the originator's message without the withheld fields' values
and salts, still under the originator's signature (`security.commitments`): the
relay can withhold, never rewrite. Every decision, and every rejected
message (a refused replay included, with its rule), is appended to the audit log
with its reason before anything is sent. A message is marked seen once all its
products are published; a redelivery of one handled before is dropped
(``relay.duplicate``), not forwarded again.

A link-local message says something about the link it came over: the relay consumes
a heartbeat (``relay.link_local.heartbeat``) and never passes it on.

An originator's `Resend` (its answer to a receiver's `ResendRequest`, case 6 of
docs/reliability.md) is not forwarded as it is: the relay checks each message inside
as it checked it the first time (issued and signed by that originator, and routed to
the requester through this relay), decides again for the requester alone, and sends
the requester its products in a `Resend` of its own issuing (``producer``: the relay;
signed and countersigned). Each decision is audited as usual, the answer too (reason
``resend``). The messages inside are old by design, so they skip the replay rules;
the answer carrying them does not.

The relay's link peers witness its audit log (`sharing.head_rounds`): their
countersignatures of its tree heads arrive at its inbox and are kept, never relayed; a
tree head sent to it is refused (rule ``link_local``).

Products go out through the relay's `outbox.Outbox` (its queue per outbound link): a
product whose recipient's link is down is kept there, durably, and sent again by
`Relay.flush_outbox`, so one recipient's outage neither loses its products nor holds
up the others.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

import msgspec

from warnlink.counters import Counters
from warnlink.errors import ConfigError, LabelError, MessageError
from warnlink.model import Envelope, Resend, decode, make_msg_id
from warnlink.model.payloads import LINK_LOCAL, RESENDABLE, HeadCosignature, TreeHead
from warnlink.model.plausibility import check_plausible
from warnlink.model.time import Clock
from warnlink.security.signing import PartyKeys, countersign, sign
from warnlink.security.verify_pool import VerifyPool, map_checked
from warnlink.sharing.audit import AuditLog, DecisionRecord
from warnlink.sharing.federation import Federation
from warnlink.sharing.head_rounds import HeadRounds
from warnlink.sharing.inbound import check_signatures
from warnlink.sharing.outbox import Outbox
from warnlink.sharing.release import Decision, Outcome, decide
from warnlink.sharing.replay import ReplayGuard, SeenStore, Verdict
from warnlink.sharing.routing import RelayRoutes, route
from warnlink.sharing.subjects import node_inbox, parse_inbox, relay_inbox_filter
from warnlink.sharing.wire import countersigned, publish_envelope, record_decision, record_of
from warnlink.sharing.witness import RecordFile
from warnlink.transport import Bus, Delivery, Subscription
from warnlink.transport.queue_store import MemoryQueueStore, QueueStore

log = logging.getLogger(__name__)


class Relay:
    """The relay hosted by `party`."""

    def __init__(
        self,
        party: str,
        federation: Federation,
        bus: Bus,
        clock: Clock,
        *,
        audit: AuditLog,
        counters: Counters,
        keys: PartyKeys,
        seen: SeenStore,
        outbox: QueueStore | None = None,
        cosigned: RecordFile | None = None,
        instance: str = "",
        verify_pool: VerifyPool | None = None,
    ) -> None:
        if party not in federation.relays:
            raise ConfigError(f"{party} hosts no relay in federation {federation.name}")
        self.party = party
        self.federation = federation
        self.bus = bus
        self.clock = clock
        self.audit = audit
        self.counters = counters
        self.keys = keys
        self.replay = ReplayGuard(seen, clock, federation.freshness_window_s, party=party)
        self.routes = RelayRoutes(federation, party)
        store = MemoryQueueStore() if outbox is None else outbox
        self.outbox = Outbox(bus, store, clock, counters, store_first=False)
        self.heads = HeadRounds(
            party,
            federation,
            bus,
            clock,
            audit=audit,
            keys=keys,
            seen=seen,
            counters=counters,
            cosigned=RecordFile(None) if cosigned is None else cosigned,
            log=instance,
        )
        #: Told of every delivery refused (subject, bytes, error): the dead letters.
        self.on_rejected: Callable[[str, bytes, MessageError], None] | None = None
        #: Where deliveries are checked off the event loop; None: on it.
        self.verify_pool = verify_pool

    async def flush_outbox(self) -> int:
        """Send again the products the outbox keeps; how many the bus acknowledged."""
        return await self.outbox.flush()

    async def open_inbox(self) -> Subscription:
        return await self.bus.subscribe(
            relay_inbox_filter(self.party), durable=f"relay-{self.party}"
        )

    def _check(self, delivery: Delivery) -> Envelope:
        _, sender = parse_inbox(delivery.subject)
        envelope = decode(delivery.data)
        if not self.federation.adjacent(sender, self.party):
            raise LabelError(
                f"{sender} has no link to relay {self.party}",
                rule="no_link",
                msg_id=envelope.msg_id,
            )
        if envelope.originator != sender or envelope.producer is not None:
            raise LabelError(
                f"{sender} sent a message issued by {envelope.issued_by}",
                rule="wrong_sender",
                msg_id=envelope.msg_id,
            )
        check_signatures(envelope, sender=sender, keyset=self.keys.keyset)
        check_plausible(envelope, window_s=self.federation.freshness_window_s)
        return envelope

    async def handle(self, delivery: Delivery) -> list[Decision]:
        """Decide on one delivery and send the products; never raises MessageError."""
        (decisions,) = await self.handle_batch([delivery])
        return decisions

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> list[list[Decision]]:
        """Decide on each delivery, then countersign the products of them all at once
        (`wire.countersigned`) and send them; each delivery's decisions. Never raises
        MessageError. The checks run in the verify pool, if the relay has one."""
        if self.verify_pool is None:
            checked = map_checked(self._check, deliveries)
        else:
            checked = await self.verify_pool.map(self._check, deliveries)
        results: list[list[Decision]] = []
        decided: list[tuple[Envelope, list[Decision]]] = []
        in_batch: set[str] = set()
        for delivery, outcome in zip(deliveries, checked, strict=True):
            decisions: list[Decision] = []
            results.append(decisions)
            try:
                if isinstance(outcome, MessageError):
                    raise outcome
                envelope = outcome
                verdict = self.replay.check(envelope)
            except MessageError as exc:
                self._reject(delivery.subject, delivery.data, exc)
                continue
            if verdict is Verdict.DUPLICATE or envelope.msg_id in in_batch:
                self.counters.inc("relay.duplicate")
                log.debug("relay %s dropped a redelivery of %s", self.party, envelope.msg_id)
                continue
            in_batch.add(envelope.msg_id)
            if isinstance(envelope.payload, (TreeHead, HeadCosignature)):
                self._witnessing(envelope, delivery)
            elif isinstance(envelope.payload, LINK_LOCAL):
                # Link health between the sender and the relay's host: never passed on.
                self.counters.inc(f"relay.link_local.{envelope.kind}")
            elif isinstance(envelope.payload, Resend):
                decisions.extend(await self._resend(envelope, envelope.payload, delivery))
            else:
                decisions.extend(self._decide(envelope, delivery))
                decided.append((envelope, decisions))
                continue
            self.replay.record(envelope)
        await self._send_products(decided)
        for envelope, _ in decided:
            self.replay.record(envelope)
        return results

    def _decide(self, envelope: Envelope, delivery: Delivery) -> list[Decision]:
        """Decide for every recipient routed through this relay and audit each
        decision; nothing sent yet."""
        recipients = self.routes(envelope)
        if not recipients:
            self._reject(
                delivery.subject,
                delivery.data,
                LabelError(
                    f"{envelope.msg_id} is routed to nobody through relay {self.party}",
                    rule="not_routed",
                    msg_id=envelope.msg_id,
                ),
            )
        decisions = []
        for recipient in recipients:
            decision = record_decision(
                envelope,
                recipient,
                decider=self.party,
                content=delivery.data,
                audit=self.audit,
                clock=self.clock,
                flush=False,
            )
            self.counters.inc(f"relay.{decision.outcome.value}")
            decisions.append(decision)
        return decisions

    async def _send_products(self, decided: list[tuple[Envelope, list[Decision]]]) -> None:
        """Countersign the products of `decided` at once and send them, in order; each
        decision list is updated with its countersigned product."""
        everything = [d for _, decisions in decided for d in decisions]
        if not everything:
            return
        self.audit.flush()  # the batch's decisions are appended unflushed (`_decide`)
        signed = iter(countersigned(everything, self.keys.own))
        for _, decisions in decided:
            for i in range(len(decisions)):
                decision, data = next(signed)
                decisions[i] = decision
                if decision.product is not None:
                    subject = node_inbox(decision.recipient, self.party)
                    await publish_envelope(self.outbox, subject, decision.product, data)

    async def _resend(
        self, envelope: Envelope, answer: Resend, delivery: Delivery
    ) -> list[Decision]:
        """Decide again, for the requester alone, on each message an originator sends
        again, and send the requester the products in an answer of the relay's own."""
        requester = answer.to
        now = self.clock.now_ns()
        if (
            requester == envelope.originator
            or requester not in self.federation.reach(self.party)
            or not envelope.label.releases_to(requester)
        ):
            refused = Decision(Outcome.REFUSED, requester, "not_released", (), None)
            self.audit.append(
                record_of(refused, envelope, decider=self.party, time=now, content=delivery.data)
            )
            self.counters.inc("relay.refused")
            return [refused]
        decisions = []
        for data in answer.messages:
            try:
                inner = decode(data)
                if not isinstance(inner.payload, RESENDABLE):
                    raise LabelError(
                        f"a {inner.kind} cannot be sent again",
                        rule="not_resendable",
                        msg_id=inner.msg_id,
                    )
                if inner.originator != envelope.originator or inner.producer is not None:
                    raise LabelError(
                        f"{envelope.originator} sent again a message issued by {inner.issued_by}",
                        rule="wrong_sender",
                        msg_id=inner.msg_id,
                    )
                check_signatures(inner, sender=envelope.originator, keyset=self.keys.keyset)
                way = route(self.federation, inner.originator, inner.kind, inner.label, requester)
                if way is None or way.via != self.party:
                    raise LabelError(
                        f"{inner.msg_id} is not routed to {requester} through {self.party}",
                        rule="not_routed",
                        msg_id=inner.msg_id,
                    )
            except MessageError as exc:
                self._reject(delivery.subject, data, exc)
                continue
            decision = decide(inner, requester)
            self.audit.append(
                record_of(decision, inner, decider=self.party, time=now, content=data)
            )
            self.counters.inc(f"relay.resent.{decision.outcome.value}")
            decisions.append(decision)
        signed = countersigned(decisions, self.keys.own) if decisions else []
        decisions = [decision for decision, _ in signed]
        products = [data for _, data in signed if data is not None]
        product = msgspec.structs.replace(
            envelope,
            msg_id=make_msg_id(envelope.msg_id, "for", requester),
            label=envelope.label.restricted_to(requester),
            payload=msgspec.structs.replace(answer, messages=tuple(products)),
            producer=self.party,
            derived_from=envelope.msg_id,
        )
        product = countersign(sign(product, self.keys.own), self.keys.own)
        decision = Decision(Outcome.FORWARDED, requester, "resend", (), product)
        self.audit.append(
            record_of(decision, envelope, decider=self.party, time=now, content=delivery.data)
        )
        await publish_envelope(self.outbox, node_inbox(requester, self.party), product)
        self.counters.inc("relay.resend")
        return [*decisions, decision]

    def _witnessing(self, envelope: Envelope, delivery: Delivery) -> None:
        """Keep a witness's countersignature (`sharing.head_rounds`); a tree head is
        link-local, never relayed."""
        try:
            if not isinstance(envelope.payload, HeadCosignature):
                raise LabelError(
                    f"a {envelope.kind} is link-local", rule="link_local", msg_id=envelope.msg_id
                )
            self.heads.take(envelope, envelope.payload)
        except MessageError as exc:
            self._reject(delivery.subject, delivery.data, exc)

    def _reject(self, subject: str, data: bytes, exc: MessageError) -> None:
        self.counters.inc(f"relay.rejected.{exc.counter_key}")
        log.warning("relay %s rejected %s: %s", self.party, subject, exc)
        if self.on_rejected is not None:
            self.on_rejected(subject, data, exc)
        self.audit.append(
            DecisionRecord(
                time=self.clock.now_ns(),
                decider=self.party,
                msg_id=exc.msg_id or "",
                originator="",
                kind="",
                recipient="",
                outcome="rejected",
                reason=getattr(exc, "rule", exc.counter_key),
                content_sha256=hashlib.sha256(data).hexdigest(),
            )
        )
