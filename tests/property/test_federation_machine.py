"""The trilateral federation as a state machine: nodes and the relay on a MemoryBus
with a manual clock; originators publish under changing standing rules, tampered
copies are injected, the relay restarts over the same bus and audit file, time
moves. After every step: nothing reached a party that its originator did not release
to it, every accepted message was applied once, and the audit chains hold; once the
bus is idle, everything released has arrived."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import msgspec
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.factories import KEYS, T0, impact, launch, mode_for, track, trilateral
from tests.property.counts import CASES
from tests.property.profiles import prop_settings
from tests.property.test_release_model import policies
from warnlink.model import Envelope, EventStatus, Payload, encode
from warnlink.model.payloads import Status
from warnlink.model.time import ManualClock
from warnlink.node import Node, build_relay, close_relay, serve_relay
from warnlink.security.signing import sign
from warnlink.sharing.audit import first_broken, read_entries
from warnlink.sharing.federation import Federation
from warnlink.sharing.leaks import LeakChecker
from warnlink.sharing.release import Outcome, decide
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.transport import Delivery, MemoryBus, Subscription

PARTIES = ("JPN", "ROK", "USA")
IDLE_S = 20.0


def _payload(kind: str, trk_id: int, with_optional: bool) -> Payload:
    if kind == "track_report":
        return track(trk_id, sensor="S-1" if with_optional else None, cov=with_optional)
    if kind == "launch_report":
        made = launch(trk_id)
        return made if with_optional else msgspec.structs.replace(made, sensor=None)
    if kind == "impact_prediction":
        return impact(trk_id)
    return EventStatus(trk_id=trk_id, epoch=T0, status=Status.FLYING)


def _variant(base: Federation, rules: tuple[object, ...]) -> Federation:
    """The federation with other standing rules (same parties, links and relay)."""
    return Federation(
        base.name,
        base.classification,
        base.parties,
        base.links,
        base.relays,
        rules,  # type: ignore[arg-type]
    )


class FederationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="warnlink-machine-"))
        self.clock = ManualClock(T0)
        self.federation = trilateral()
        self.leaks = LeakChecker()
        self.originals: list[Envelope] = []
        self.accepted: dict[str, list[Envelope]] = defaultdict(list)
        self.applied: dict[str, Counter[str]] = defaultdict(Counter)
        self.injected = 0
        self.relay_task: asyncio.Task[None] | None = None
        self.relay_inbox: Subscription | None = None
        self.relays_started = 0
        self.run(self._start())

    def run(self, coro: object) -> object:
        return self.loop.run_until_complete(coro)  # type: ignore[arg-type]

    async def _start(self) -> None:
        self.bus = MemoryBus(self.folder / "bus", clock=self.clock)
        self.nodes: dict[str, Node] = {}
        for party in PARTIES:
            node = Node(
                party,
                self.federation,
                self.bus,
                self.clock,
                keys=KEYS[party],
                audit_dir=self.folder,
                on_original=self._original,
                host_relay=False,
            )
            self._watch(node)
            self.nodes[party] = node
            await node.start()
        await self._start_relay()

    def _original(self, envelope: Envelope) -> None:
        self.leaks.record_original(envelope)
        self.originals.append(envelope)

    def _watch(self, node: Node) -> None:
        """Record what the node's edge accepts and what its picture applies."""
        receive, apply = node.gateway.receive, node.picture.apply
        party = node.party

        def receiving(delivery: Delivery) -> Envelope | None:
            got = receive(delivery)
            if got is not None:
                self.accepted[party].append(got)
            return got

        def applying(envelope: Envelope, received_ns: int) -> bool:
            new = apply(envelope, received_ns)
            if new:
                self.applied[party][envelope.msg_id] += 1
            return new

        node.gateway.receive = receiving  # type: ignore[method-assign]
        node.picture.apply = applying  # type: ignore[method-assign]

    async def _start_relay(self) -> None:
        self.relay = build_relay(
            "USA",
            self.federation,
            self.bus,
            self.clock,
            KEYS["USA"],
            self.folder,
            self.nodes["USA"].counters,
        )
        self.relay_inbox = await self.relay.open_inbox()
        self.relay_task = asyncio.create_task(serve_relay(self.relay, self.relay_inbox))
        self.relays_started += 1

    async def _stop_relay(self) -> None:
        assert self.relay_inbox is not None
        assert self.relay_task is not None
        await self.relay_inbox.close()
        self.relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.relay_task
        close_relay(self.relay)

    async def _settle(self) -> None:
        async with asyncio.timeout(IDLE_S):
            await self.bus.wait_idle()

    # --- rules ------------------------------------------------------------------------

    @initialize()
    def begin(self) -> None:
        CASES["machine.runs"] += 1

    @rule(
        originator=st.sampled_from(PARTIES),
        kind=st.sampled_from(
            ["track_report", "launch_report", "impact_prediction", "event_status"]
        ),
        trk_id=st.integers(1, 5),
        with_optional=st.booleans(),
        policy=st.none() | policies(),
    )
    def publish(
        self,
        originator: str,
        kind: str,
        trk_id: int,
        with_optional: bool,
        policy: tuple[tuple[str, ...], tuple[object, ...]] | None,
    ) -> None:
        """The originator sends one report under its standing rules, or a variant."""
        node = self.nodes[originator]
        rules = self.federation.rules
        if policy is not None:
            _members, generated = policy
            # Only rules among the federation's parties apply to this federation.
            rules = tuple(
                r
                for r in generated
                if {r.originator, *r.to} <= set(PARTIES)  # type: ignore[attr-defined]
            )
        node.gateway.federation = _variant(self.federation, rules)
        try:

            async def send() -> None:
                payload = _payload(kind, trk_id, with_optional)
                envelope = await node.gateway.send(payload, data_mode=mode_for(payload))
                node.picture.apply(envelope, self.clock.now_ns())

            self.run(send())
        finally:
            node.gateway.federation = self.federation
        CASES["machine.published"] += 1

    @rule()
    def deliver(self) -> None:
        self.run(self._settle())
        self._check_nothing_lost()

    @precondition(lambda self: bool(self.originals))
    @rule(data=st.data())
    def inject_tampered_copy(self, data: st.DataObject) -> None:
        """A copy of a real message with its label widened or payload changed (signature
        kept), or re-signed by a party that did not issue it, on a real link."""
        original = data.draw(st.sampled_from(self.originals))
        how = data.draw(st.sampled_from(["widen", "payload", "resign"]))
        if how == "widen":
            forged = msgspec.structs.replace(
                original,
                label=msgspec.structs.replace(original.label, rel_to=PARTIES, field_rel_to={}),
            )
        elif how == "payload":
            payload = msgspec.structs.replace(
                original.payload, trk_id=original.payload.trk_id + 100
            )
            forged = msgspec.structs.replace(original, payload=payload)
        else:
            other = next(p for p in PARTIES if p != original.originator)
            forged = msgspec.structs.replace(
                original,
                sig=sign(msgspec.structs.replace(original, originator=other), KEYS[other].own).sig,
            )
        sender = original.originator
        if sender == "USA":
            target = node_inbox(data.draw(st.sampled_from(["JPN", "ROK"])), "USA")
        else:
            target = data.draw(
                st.sampled_from([relay_inbox("USA", sender), node_inbox("USA", sender)])
            )
        self.injected += 1
        self.run(self.bus.publish(target, encode(forged), msg_id=f"tampered-{self.injected}"))
        CASES["machine.injected"] += 1

    @rule()
    def restart_relay(self) -> None:
        """A new relay over the same bus and audit file; what was pending is resumed."""
        self.run(self._stop_relay())
        self.run(self._start_relay())

    @rule(seconds=st.floats(0.1, 30.0))
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance_s(seconds)
        for node in self.nodes.values():
            self.run(node.tick())

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def nothing_unreleased_reached_anyone(self) -> None:
        for party, envelopes in self.accepted.items():
            for envelope in envelopes:
                assert self.leaks.check(party, envelope) == [], (party, envelope)

    @invariant()
    def every_accepted_message_applied_once(self) -> None:
        for party, counts in self.applied.items():
            assert all(n == 1 for n in counts.values()), (party, counts)
            accepted_ids = {e.msg_id for e in self.accepted[party]}
            assert accepted_ids <= set(counts), party

    @invariant()
    def tampered_copies_were_all_refused(self) -> None:
        originals = {e.msg_id for e in self.originals}
        for envelope in (e for es in self.accepted.values() for e in es):
            assert (envelope.derived_from or envelope.msg_id) in originals

    @invariant()
    def audit_chains_hold(self) -> None:
        for path in self.folder.glob("*.jsonl"):
            assert first_broken(list(read_entries(path))) is None, path
        assert first_broken(list(self.relay.audit)) is None

    def _check_nothing_lost(self) -> None:
        """With the bus idle, every release decision has been delivered, and every
        tampered copy refused (and counted) by the relay or node it was sent to."""
        rejected = sum(
            n
            for node in self.nodes.values()
            for key, n in node.counters.as_dict().items()
            if key.startswith(("rejected.", "relay.rejected."))
        )
        assert rejected == self.injected
        got: dict[str, set[str]] = {
            p: {e.derived_from or e.msg_id for e in es} for p, es in self.accepted.items()
        }
        for original in self.originals:
            if original.kind == "heartbeat":
                continue
            for recipient, _ in self.federation.routes(original.originator):
                decision = decide(original, recipient)
                if decision.outcome is not Outcome.REFUSED:
                    assert original.msg_id in got.get(recipient, set()), (recipient, original)
                    CASES["machine.deliveries_checked"] += 1

    def teardown(self) -> None:
        async def stop() -> None:
            await self._stop_relay()
            for node in self.nodes.values():
                await node.stop()
            await self.bus.close()

        try:
            self.run(self._settle())
            self._check_nothing_lost()
            self.nothing_unreleased_reached_anyone()
            self.every_accepted_message_applied_once()
            self.run(stop())
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)


FederationMachine.TestCase.settings = prop_settings(25, stateful_step_count=25)
test_federation_machine = FederationMachine.TestCase
