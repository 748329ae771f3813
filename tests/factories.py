"""Builders of valid messages and federations for tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec
import numpy as np

from warnlink.alerting.monitor import AlertMonitor
from warnlink.counters import Counters
from warnlink.errors import StoreError
from warnlink.fusion.picture import Picture
from warnlink.model import (
    Ellipse,
    Envelope,
    ImpactPrediction,
    LaunchReport,
    Payload,
    Phase,
    RangeClass,
    SecurityLabel,
    TrackReport,
    new_envelope,
)
from warnlink.model.payloads import RESENDABLE
from warnlink.model.record import DataMode
from warnlink.model.time import ManualClock
from warnlink.model.track_estimate import TrackEstimate
from warnlink.security.signing import countersign, ephemeral_keys, sign
from warnlink.sharing.audit import DecisionRecord
from warnlink.sharing.federation import Federation, load_federation
from warnlink.sim.trajectory import Trajectory
from warnlink.transport import Delivery, Subscription
from warnlink.transport.queue_store import MemoryQueueStore

ROOT = Path(__file__).resolve().parents[1]
TRILATERAL = ROOT / "scenarios" / "trilateral.toml"
T0 = 1_700_000_000 * 10**9


def mode_for(payload: Payload) -> DataMode | None:
    """The data mode a test envelope of `payload` carries: REAL for a report, none for a
    link message (`Envelope.data_mode`)."""
    return DataMode.REAL if isinstance(payload, RESENDABLE) else None


def trilateral() -> Federation:
    return load_federation(TRILATERAL)


def track(trk_id: int = 1, *, sensor: str | None = "ROK-R1", cov: bool = True) -> TrackReport:
    return TrackReport(
        trk_id=trk_id,
        epoch=T0,
        pos=(-3_100_000.0, 4_100_000.0, 3_900_000.0),
        vel=(1_000.0, 500.0, 1_500.0),
        phase=Phase.MIDCOURSE,
        trk_qual=9,
        cov=tuple(100.0 if i in (0, 6, 11, 15, 18, 20) else 0.0 for i in range(21))
        if cov
        else None,
        sensor=sensor,
    )


def launch(trk_id: int = 1) -> LaunchReport:
    return LaunchReport(
        trk_id=trk_id,
        launch_time=T0,
        launch_time_sigma_s=2.0,
        launch_lat=39.2,
        launch_lon=125.67,
        launch_aou=Ellipse(5_000.0, 3_000.0, 80.0),
        range_class=RangeClass.SRBM,
        sensor="USA-IR",
    )


def impact(trk_id: int = 1) -> ImpactPrediction:
    return ImpactPrediction(
        trk_id=trk_id,
        epoch=T0,
        impact_time=T0 + 600 * 10**9,
        impact_time_sigma_s=3.0,
        impact_lat=40.5,
        impact_lon=136.0,
        impact_aou=Ellipse(20_000.0, 8_000.0, 75.0),
    )


#: One signing key per party of the test federations, and the key set they all trust.
KEYS: Final = ephemeral_keys(("ROK", "USA", "JPN", "AUS"))
KEYSET: Final = KEYS["ROK"].keyset


def envelope(
    payload: TrackReport | LaunchReport | ImpactPrediction | None = None,
    *,
    originator: str = "ROK",
    seq: int = 1,
    rel_to: tuple[str, ...] = ("JPN", "USA"),
    field_rel_to: dict[str, tuple[str, ...]] | None = None,
    relayed_by: str | None = None,
) -> Envelope:
    """An envelope signed by its originator (when it has a test key), and countersigned
    by `relayed_by` if given."""
    made = new_envelope(
        originator=originator,
        seq=seq,
        created=T0 + seq,
        label=SecurityLabel("UNCLASSIFIED", rel_to, field_rel_to or {}),
        payload=payload if payload is not None else track(),
        data_mode=mode_for(payload if payload is not None else track()),
    )
    if originator in KEYS:
        made = sign(made, KEYS[originator].own)
    if relayed_by is not None:
        made = countersign(made, KEYS[relayed_by].own)
    return made


def nees(reports: list[TrackEstimate], trajectory: Trajectory) -> list[float]:
    """Normalised estimation error squared of each report's state against the flown truth."""
    out = []
    for r in reports:
        err = r.state - trajectory.state_at(r.time_s - trajectory.launch_time_s)
        out.append(float(err @ np.linalg.solve(r.cov, err)))
    return out


class FailingOnceStore(MemoryQueueStore):
    """A queue store whose first append fails, as a full disk would."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def append(
        self, subject: str, msg_id: str, data: bytes, time_ns: int, *, deferred: bool = False
    ) -> int:
        if not self.failed:
            self.failed = True
            raise StoreError("disk full")
        return super().append(subject, msg_id, data, time_ns, deferred=deferred)


@dataclass
class PartyState:
    """What the outputs read of a party (`interop.party.PartyView`), without a node."""

    party: str
    picture: Picture
    alerts: AlertMonitor
    clock: ManualClock
    counters: Counters

    def apply(self, envelope: Envelope) -> None:
        """As a node does: the picture applies, the alerting ledger records (once)."""
        if self.picture.apply(envelope, self.clock.now_ns()):
            self.alerts.record(envelope)


def party_state(
    party: str = "JPN", *, now_ns: int = T0, data_mode: DataMode = DataMode.REAL
) -> PartyState:
    """`party` holding one ROK missile (launch, track, impact at T0) of `data_mode`.

    The mode is set after signing: the picture does not check signatures (the gateway
    does, before it), so this is what it would hold of such a missile.
    """
    state = PartyState(party, Picture(party), AlertMonitor(party), ManualClock(T0), Counters())
    for seq, payload in enumerate((launch(), track(), impact()), start=1):
        made = envelope(payload, originator="ROK", seq=seq)
        state.apply(msgspec.structs.replace(made, data_mode=data_mode))
    state.clock.set_ns(now_ns)
    return state


def decision_record(
    i: int, *, decider: str = "USA", time: int = 1_000, **fields: object
) -> DecisionRecord:
    """The `i`-th audit record of a relay forwarding ROK's track to JPN; `fields`
    replace any other of its fields (outcome, reason, withheld...)."""
    record = DecisionRecord(
        time=time + i,
        decider=decider,
        msg_id=f"{i:032x}",
        originator="ROK",
        kind="track_report",
        recipient="JPN",
        outcome="forwarded",
        reason="released",
        content_sha256="ab" * 32,
    )
    return msgspec.structs.replace(record, **fields)


class PassThrough:
    """A subscription that hands every call to `inner`: tests override what they watch."""

    def __init__(self, inner: Subscription) -> None:
        self.inner = inner
        self.durable = inner.durable
        self.subject_filter = inner.subject_filter

    def __aiter__(self) -> PassThrough:
        return self

    async def __anext__(self) -> Delivery:
        return await self.inner.__aiter__().__anext__()

    async def next(self, timeout_s: float | None = None) -> Delivery | None:
        return await self.inner.next(timeout_s)

    async def next_batch(self, max_count: int, timeout_s: float | None = None) -> list[Delivery]:
        return await self.inner.next_batch(max_count, timeout_s)

    async def ack(self, delivery: Delivery) -> None:
        await self.inner.ack(delivery)

    async def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        await self.inner.ack_many(deliveries)

    async def close(self) -> None:
        await self.inner.close()
