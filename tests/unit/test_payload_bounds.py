"""Payloads outside the physical envelope are refused at every edge (issue 17, finding 5).

A signed message from a link peer with a position of 1e300 km or an impact time of
2**64-1 ns was applied; now the receiver, the relay and the originator's own gateway
refuse it with a typed error and a counter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from tests.factories import KEYS, KEYSET, T0, envelope, impact, launch, track, trilateral
from tests.unit.test_sharing_flow import federated
from warnlink.errors import DecodeError, ImplausibleMessage, MessageError
from warnlink.model import Ellipse, Heartbeat, Payload, SecurityLabel, encode, new_envelope
from warnlink.model.record import DataMode
from warnlink.security.signing import sign
from warnlink.sharing.inbound import accept
from warnlink.sharing.subjects import relay_inbox

S = 10**9
replace = msgspec.structs.replace

#: name -> (a payload a hostile peer signs, the error, its rule or None).
HOSTILE: dict[str, tuple[Callable[[], Payload], type[MessageError], str | None]] = {
    "position_1e300_km": (lambda: replace(track(), pos=(1e303, 0.0, 0.0)), DecodeError, None),
    "impact_time_2_64": (lambda: replace(impact(), impact_time=2**64 - 1), DecodeError, None),
    "epoch_1970": (lambda: replace(track(), epoch=1), DecodeError, None),
    "ellipse_1e12_m": (
        lambda: replace(impact(), impact_aou=Ellipse(1e12, 1.0, 0.0)),
        DecodeError,
        None,
    ),
    "sigma_1e12_s": (lambda: replace(launch(), launch_time_sigma_s=1e12), DecodeError, None),
    "covariance_1e20": (
        lambda: replace(
            track(), cov=tuple(1e20 if i in (0, 6, 11, 15, 18, 20) else 0.0 for i in range(21))
        ),
        DecodeError,
        None,
    ),
    "underground": (
        lambda: replace(track(), pos=(5_000_000.0, 0.0, 0.0)),
        ImplausibleMessage,
        "altitude",
    ),
    "speed_20_km_s": (
        lambda: replace(track(), vel=(11_500.0, 11_500.0, 11_500.0)),
        ImplausibleMessage,
        "speed",
    ),
    "epoch_a_day_ahead": (
        lambda: replace(track(), epoch=T0 + 86_400 * S),
        ImplausibleMessage,
        "future",
    ),
    "launch_a_day_before": (
        lambda: replace(launch(), launch_time=T0 - 86_400 * S),
        ImplausibleMessage,
        "too_old",
    ),
    "impact_before_state": (
        lambda: replace(impact(), impact_time=T0 - 600 * S),
        ImplausibleMessage,
        "impact_before_epoch",
    ),
    "flight_of_a_day": (
        lambda: replace(impact(), impact_time=T0 + 86_400 * S),
        ImplausibleMessage,
        "flight_too_long",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_receiver_refuses_a_signed_payload_off_the_envelope(case: str) -> None:
    make, error, rule = HOSTILE[case]
    data = encode(envelope(make(), originator="ROK", rel_to=("USA",)))
    with pytest.raises(error) as info:
        accept(data, party="USA", sender="ROK", federation=trilateral(), keyset=KEYSET)
    assert getattr(info.value, "rule", None) == rule


def test_receiver_accepts_the_edges_of_the_envelope() -> None:
    lofted = replace(
        track(), pos=(-3_100_000.0, 4_100_000.0, 10_000_000.0), vel=(0.0, 0.0, 11_900.0)
    )
    for payload in (lofted, replace(impact(), impact_time=T0 + 7_000 * S)):
        data = encode(envelope(payload, originator="ROK", rel_to=("USA",)))
        accept(data, party="USA", sender="ROK", federation=trilateral(), keyset=KEYSET)


async def test_relay_refuses_an_impossible_impact_and_passes_nothing_on(tmp_path: Path) -> None:
    async with federated(tmp_path) as fed:
        bad = envelope(replace(impact(), impact_time=2**64 - 1), originator="ROK")
        await fed.bus.publish(relay_inbox("USA", "ROK"), encode(bad), msg_id="bad")
        await fed.settle()
        assert fed.nodes["USA"].counters.get("relay.rejected.malformed") == 1
        assert fed.nodes["JPN"].picture.received_from["ROK"] == 0


async def test_relay_refuses_an_implausible_track(tmp_path: Path) -> None:
    async with federated(tmp_path) as fed:
        bad = envelope(replace(track(), pos=(5_000_000.0, 0.0, 0.0)), originator="ROK")
        await fed.bus.publish(relay_inbox("USA", "ROK"), encode(bad), msg_id="bad")
        await fed.settle()
        assert fed.nodes["USA"].counters.get("relay.rejected.implausible") == 1
        assert fed.nodes["JPN"].picture.received_from["ROK"] == 0


@pytest.mark.parametrize("case", ["position_1e300_km", "impact_before_state"])
async def test_a_gateway_never_sends_what_receivers_refuse(tmp_path: Path, case: str) -> None:
    make, error, _ = HOSTILE[case]
    async with federated(tmp_path) as fed:
        with pytest.raises(error):
            await fed.nodes["ROK"].gateway.send(make(), data_mode=DataMode.REAL)
        await fed.settle()
        assert fed.nodes["ROK"].counters.get(f"gateway.refused.{error.counter_key}") == 1
        assert fed.nodes["USA"].picture.received_from["ROK"] == 0


def _heartbeat(originator: str, rel_to: tuple[str, ...]) -> bytes:
    made = new_envelope(
        originator=originator,
        seq=1,
        created=T0,
        label=SecurityLabel("UNCLASSIFIED", rel_to),
        payload=Heartbeat(trk_id=0, interval_s=5.0),
        data_mode=None,
    )
    return encode(sign(made, KEYS[originator].own))


async def test_a_heartbeat_sent_to_the_relay_is_consumed_not_relayed(tmp_path: Path) -> None:
    async with federated(tmp_path) as fed:
        await fed.bus.publish(
            relay_inbox("USA", "ROK"), _heartbeat("ROK", ("JPN", "USA")), msg_id="hb"
        )
        await fed.settle()
        assert fed.nodes["USA"].counters.get("relay.link_local.heartbeat") == 1
        assert "ROK" not in fed.nodes["JPN"].picture.heartbeats
        assert len(fed.nodes["USA"].relay.audit) == 0  # type: ignore[union-attr]
