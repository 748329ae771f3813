"""The gateway sends each recipient one way, and the relay passes on only what is routed
through it, answers included (issue 17, finding 4), on four parties with two relays."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.factories import KEYS, T0, launch, track
from warnlink.counters import Counters
from warnlink.model import Envelope, Resend, ResendRequest, SecurityLabel, decode, encode
from warnlink.model.envelope import new_envelope
from warnlink.model.record import DataMode
from warnlink.model.time import ManualClock
from warnlink.security.signing import sign
from warnlink.sharing.audit import AuditLog
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sharing.gateway import Gateway
from warnlink.sharing.relay import Relay
from warnlink.sharing.replay import MemorySeenStore
from warnlink.sharing.subjects import node_inbox, relay_inbox
from warnlink.transport import Delivery, PublishAck
from warnlink.transport.base import answered
from warnlink.transport.queue_store import MemoryQueueStore

FOUR = Path(__file__).resolve().parents[1] / "data" / "four_parties_two_relays.toml"


class _Wire:
    """A bus that keeps what is published, decoded."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Envelope]] = []

    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PublishAck:
        self.sent.append((subject, decode(data)))
        return PublishAck(seq=len(self.sent), duplicate=False)

    async def publish_pipelined(
        self, subject: str, data: bytes, *, msg_id: str
    ) -> asyncio.Future[PublishAck]:
        return answered(await self.publish(subject, data, msg_id=msg_id))

    def subjects(self) -> list[str]:
        return sorted(s for s, _ in self.sent)


def _gateway(party: str, federation: Federation, wire: _Wire, clock: ManualClock) -> Gateway:
    return Gateway(
        party,
        federation,
        wire,  # type: ignore[arg-type]  # publishing is all a gateway's outbox asks of it
        clock,
        counters=Counters(),
        audit=AuditLog(),
        keys=KEYS[party],
        seen=MemorySeenStore(),
        archive=MemoryQueueStore(),
    )


async def test_each_recipient_is_sent_one_way_and_a_relay_host_directly() -> None:
    federation, wire, clock = load_federation(FOUR), _Wire(), ManualClock(T0)
    jpn = _gateway("JPN", federation, wire, clock)
    await jpn.send(track(), data_mode=DataMode.REAL)  # to USA and ROK
    assert wire.subjects() == [node_inbox("USA", "JPN"), relay_inbox("USA", "JPN")]
    wire.sent.clear()
    await jpn.send(launch(), data_mode=DataMode.REAL)  # to USA, ROK and AUS
    assert wire.subjects() == [
        node_inbox("AUS", "JPN"),
        node_inbox("USA", "JPN"),
        relay_inbox("AUS", "JPN"),
    ]


async def test_an_answer_goes_back_each_message_the_way_it_went() -> None:
    federation, wire, clock = load_federation(FOUR), _Wire(), ManualClock(T0)
    jpn = _gateway("JPN", federation, wire, clock)
    await jpn.send(track(), data_mode=DataMode.REAL)
    await jpn.send(launch(), data_mode=DataMode.REAL)
    wire.sent.clear()
    clock.advance_s(10)
    asked = ResendRequest(trk_id=0, originator="JPN", since=T0 - 1, until=clock.now_ns())
    request = sign(
        new_envelope(
            originator="ROK",
            seq=1,
            created=clock.now_ns(),
            label=SecurityLabel("UNCLASSIFIED", ("JPN",)),
            payload=asked,
            data_mode=None,
        ),
        KEYS["ROK"].own,
    )
    assert await jpn.answer(request) == 2
    answers = {s: e.payload for s, e in wire.sent if isinstance(e.payload, Resend)}
    assert set(answers) == {relay_inbox("USA", "JPN"), relay_inbox("AUS", "JPN")}
    kinds = {s: [decode(m).kind for m in a.messages] for s, a in answers.items()}
    assert kinds[relay_inbox("USA", "JPN")] == ["track_report"]
    assert kinds[relay_inbox("AUS", "JPN")] == ["launch_report"]
    assert sorted((a.part, a.last) for a in answers.values()) == [(1, False), (2, True)]

    # USA's relay, handed the launch report AUS carries, refuses it: not routed via USA.
    misrouted = Resend(
        trk_id=0,
        request=request.msg_id,
        to="ROK",
        messages=answers[relay_inbox("AUS", "JPN")].messages,
        part=1,
        last=True,
        retained_since=0,
    )
    answer = sign(
        new_envelope(
            originator="JPN",
            seq=99,
            created=clock.now_ns(),
            label=SecurityLabel("UNCLASSIFIED", ("ROK",)),
            payload=misrouted,
            data_mode=None,
        ),
        KEYS["JPN"].own,
    )
    usa_wire = _Wire()
    relay = Relay(
        "USA",
        federation,
        usa_wire,  # type: ignore[arg-type]
        clock,
        audit=AuditLog(),
        counters=Counters(),
        keys=KEYS["USA"],
        seen=MemorySeenStore(),
    )
    subject = relay_inbox("USA", "JPN")
    await relay.handle(Delivery(subject, encode(answer), 1, "a", clock.now_ns(), False))
    assert next((e.outcome, e.reason) for e in relay.audit) == ("rejected", "not_routed")
    [(to, product)] = usa_wire.sent
    assert to == node_inbox("ROK", "USA")
    assert isinstance(product.payload, Resend)
    assert product.payload.messages == ()


async def test_a_relay_passes_on_only_recipients_routed_through_it() -> None:
    federation, clock = load_federation(FOUR), ManualClock(T0)
    jpn_wire = _Wire()
    jpn = _gateway("JPN", federation, jpn_wire, clock)
    sent = await jpn.send(track(), data_mode=DataMode.REAL)  # released to ROK and USA
    relays = {}
    for host in ("AUS", "USA"):
        wire = _Wire()
        relay = Relay(
            host,
            federation,
            wire,  # type: ignore[arg-type]
            clock,
            audit=AuditLog(),
            counters=Counters(),
            keys=KEYS[host],
            seen=MemorySeenStore(),
        )
        subject = relay_inbox(host, "JPN")
        await relay.handle(Delivery(subject, encode(sent), 1, "t", clock.now_ns(), False))
        relays[host] = (relay, wire)
    _, usa_wire = relays["USA"]
    assert usa_wire.subjects() == [node_inbox("ROK", "USA")]  # never USA's own node
    # Were JPN's track put on AUS's relay (as it was before), AUS would pass it on to
    # nobody, and audit why.
    aus, aus_wire = relays["AUS"]
    assert aus_wire.sent == []
    assert [(e.outcome, e.reason) for e in aus.audit] == [("rejected", "not_routed")]
