"""Association per report: what one track report costs a picture at 100 and 1,000 live tracks.

A live track here is one missile tracked by all three parties (ROK, JPN, USA), so a
picture at 1,000 live tracks holds 1,000 events of three contributions each. Every
missile flies the salvo bench's ballistic arc (`e2e.track_report`), laid out on a grid
20 km apart, and each originator reports it once a second, the three a third of a second
apart (so the gate extrapolates). A first round forms the events; the timed rounds then
apply one report of every track, in order, to `Picture.apply` (envelopes built
beforehand, unsigned: the picture does not check signatures). The figure is the best
round's time over its reports, µs per report.

The trackless case is ROK's node in a salvo where JPN's tracks are not released to it:
ROK tracks every missile (its track, launch report and impact prediction), and JPN's launch
report and impact predictions arrive without a track, so each is assigned by
`Picture._assign_trackless`. The missiles fly in clusters of `CLUSTER` from one launch site
onto one aim area (their launches and impacts gate with each other: swaps and launch-only
ambiguities are possible within a cluster), clusters `CLUSTER_SPACING_DEG` apart on a
grid, in two waves `WAVE_S` apart. Each round applies ROK's track report and JPN's next
impact prediction of every missile; the figure is the best round's mean time of the
impact predictions, µs per report.

The reference, measured in the same run: decoding one signed track report from its wire
bytes (`model.decode`), the least work a node does for every report it receives.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Final

from warnlink.benchmarks.e2e import track_report
from warnlink.benchmarks.figure import Figure, Result, best_seconds, figure
from warnlink.fusion.picture import Picture
from warnlink.model import (
    Ellipse,
    Envelope,
    ImpactPrediction,
    LaunchReport,
    Payload,
    RangeClass,
    SecurityLabel,
    decode,
    encode,
    new_envelope,
)
from warnlink.model.record import DataMode
from warnlink.security.signing import PartyKey, sign

SIZES: Final = (100, 1_000)
ORIGINATORS: Final = ("ROK", "JPN", "USA")
SPACING_M: Final = 20_000.0
POS_SIGMA_M: Final = 300.0
REPORT_INTERVAL_S: Final = 1.0
TARGET_US: Final = 60.0
"""At 1,000 live tracks: 3,000 reports a second (1 Hz, three parties) take under 20 % of a core."""
EPOCH_NS: Final = 1_700_000_000 * 10**9
LABEL: Final = SecurityLabel("UNCLASSIFIED", ORIGINATORS)
CLUSTER: Final = 5
CLUSTER_SPACING_DEG: Final = 4.0
"""Between clusters' sites and aim areas: beyond the launch (100 km) and impact (150 km) gates."""
WAVE_S: Final = 600.0
MISSILE_SPACING_DEG: Final = 0.1
"""Between the aim points (and the launch points) of one cluster's missiles."""


def salvo_round(
    live: int, number: int, seqs: dict[str, int], *, interval_s: float = REPORT_INTERVAL_S
) -> list[Envelope]:
    """Round `number`, `interval_s` after the one before: one report of every originator's
    track of each of `live` missiles (track number = missile number + 1), by missile.
    `seqs` holds each originator's last sequence number and is advanced."""
    columns = math.ceil(math.sqrt(live))
    out = []
    for k in range(live):
        for lag, originator in enumerate(ORIGINATORS):
            flown_s = number * interval_s + lag * interval_s / len(ORIGINATORS)
            epoch = EPOCH_NS + round(flown_s * 1e9)
            report = track_report(
                1 + k,
                epoch,
                offset_m=SPACING_M * (k % columns),
                north_m=SPACING_M * (k // columns),
                flown_s=flown_s,
                pos_sigma_m=POS_SIGMA_M,
            )
            out.append(_next(originator, seqs, epoch, report))
    return out


def _next(originator: str, seqs: dict[str, int], epoch: int, payload: Payload) -> Envelope:
    """The originator's next message (its seq in `seqs` advanced), a test-mode one."""
    seqs[originator] += 1
    return new_envelope(
        originator=originator,
        seq=seqs[originator],
        created=epoch,
        label=LABEL,
        payload=payload,
        data_mode=DataMode.TEST,
    )


def per_report_us(live: int, rounds: int) -> tuple[float, int]:
    """Best round's µs per report at `live` tracks, and the events the picture ends with."""
    seqs = dict.fromkeys(ORIGINATORS, 0)
    batches = [salvo_round(live, number, seqs) for number in range(rounds + 1)]
    picture = Picture("USA")
    for envelope in batches[0]:
        picture.apply(envelope, envelope.created)
    best = math.inf
    for batch in batches[1:]:
        start = time.perf_counter()
        for envelope in batch:
            picture.apply(envelope, envelope.created)
        best = min(best, (time.perf_counter() - start) / len(batch))
    return best * 1e6, len(picture.events)


def _trackless_round(
    live: int, number: int, seqs: dict[str, int]
) -> tuple[list[Envelope], list[bool]]:
    """Round `number` of the trackless case (see the module docstring), and which of its
    envelopes are JPN's (the timed ones). Round 0 brings each party's launch report and
    first impact prediction; each round then ROK's track report and JPN's next prediction."""
    out: list[Envelope] = []
    timed: list[bool] = []
    per_wave = math.ceil(live / CLUSTER / 2)
    columns = math.ceil(math.sqrt(per_wave))
    for k in range(live):
        cluster, place = divmod(k, CLUSTER)
        wave, spot = divmod(cluster, per_wave)
        row, column = divmod(spot, columns)
        aim_lat = 25.0 + CLUSTER_SPACING_DEG * row + MISSILE_SPACING_DEG * place
        aim_lon = 100.0 + 1.5 * CLUSTER_SPACING_DEG * column
        launch_s = WAVE_S * wave + 5.0 * place
        epoch = EPOCH_NS + round((launch_s + 60.0 + number) * 1e9)
        payloads: list[tuple[str, Payload]] = []
        if number == 0:
            for originator in ("ROK", "JPN"):
                launch = LaunchReport(
                    trk_id=1 + k,
                    launch_time=EPOCH_NS + round(launch_s * 1e9),
                    launch_time_sigma_s=2.0,
                    launch_lat=aim_lat + 3.0,
                    launch_lon=aim_lon - MISSILE_SPACING_DEG * place,
                    launch_aou=Ellipse(5_000.0, 3_000.0, 0.0),
                    range_class=RangeClass.SRBM,
                    sensor=f"{originator}-IR",
                )
                payloads.append((originator, launch))
            payloads.append(("ROK", _impact(k, epoch, aim_lat, aim_lon, launch_s, 0.0)))
        east, north = SPACING_M * (k % columns), SPACING_M * (k // columns)
        track = track_report(1 + k, epoch, offset_m=east, north_m=north, flown_s=number)
        payloads.append(("ROK", track))
        wobble = 0.02 * math.sin(number + k)  # each prediction a little different
        payloads.append(("JPN", _impact(k, epoch, aim_lat, aim_lon, launch_s, wobble)))
        for originator, payload in payloads:
            out.append(_next(originator, seqs, epoch, payload))
            timed.append(number > 0 and originator == "JPN")
    return out, timed


def _impact(
    k: int, epoch: int, lat: float, lon: float, launch_s: float, wobble_deg: float
) -> ImpactPrediction:
    return ImpactPrediction(
        trk_id=1 + k,
        epoch=epoch,
        impact_time=EPOCH_NS + round((launch_s + 400.0) * 1e9),
        impact_time_sigma_s=5.0,
        impact_lat=lat + wobble_deg,
        impact_lon=lon,
        impact_aou=Ellipse(10_000.0, 5_000.0, 0.0),
    )


def trackless_us(
    live: int, rounds: int, *, make: Callable[[str], Picture] = Picture
) -> tuple[float, int]:
    """Best round's µs per trackless report (JPN's impact predictions) at `live` missiles on
    ROK's node (a picture from `make`), and the events it ends with."""
    seqs = dict.fromkeys(ORIGINATORS, 0)
    picture = make("ROK")
    best = math.inf
    for number in range(rounds + 1):
        batch, timed = _trackless_round(live, number, seqs)
        spent = 0.0
        for envelope, counted in zip(batch, timed, strict=True):
            start = time.perf_counter()
            picture.apply(envelope, envelope.created)
            spent += (time.perf_counter() - start) if counted else 0.0
        if number:
            best = min(best, spent / live)
    return best * 1e6, len(picture.events)


def decode_us(count: int = 2_000) -> float:
    """µs to decode one signed track report from its wire bytes (best of 5 rounds)."""
    bare = new_envelope(
        originator="ROK",
        seq=1,
        created=EPOCH_NS,
        label=LABEL,
        payload=track_report(1, EPOCH_NS, pos_sigma_m=POS_SIGMA_M),
        data_mode=DataMode.TEST,
    )
    data = encode(sign(bare, PartyKey.generate("ROK")))

    def decode_all() -> None:
        for _ in range(count):
            decode(data)

    return best_seconds(decode_all, 5) / count * 1e6


def run(quick: bool = False) -> Result:
    """The association figures (see the module docstring)."""
    rounds = 2 if quick else 5
    reference = decode_us()
    figures: list[Figure] = []
    events: dict[str, int] = {}
    for live in SIZES:
        value, events[str(live)] = per_report_us(live, rounds)
        at_target = live == SIZES[-1]
        figures.append(
            figure(
                f"association.per_report.{live}",
                value,
                "µs",
                "decoding one signed track report",
                reference,
                target=f"<= {TARGET_US:g} µs" if at_target else None,
                met=value <= TARGET_US if at_target else None,
            )
        )
    trackless_events: dict[str, int] = {}
    for live in SIZES:
        value, trackless_events[str(live)] = trackless_us(live, rounds)
        figures.append(
            figure(
                f"association.trackless.us_per_report.{live}",
                value,
                "µs",
                "decoding one signed track report",
                reference,
            )
        )
    return Result(
        "association",
        figures,
        {
            "live_tracks": list(SIZES),
            "originators": list(ORIGINATORS),
            "reports_per_round": {str(n): n * len(ORIGINATORS) for n in SIZES},
            "timed_rounds": rounds,
            "report_interval_s": REPORT_INTERVAL_S,
            "spacing_m": SPACING_M,
            "pos_sigma_m": POS_SIGMA_M,
            "events_at_end": events,
            "trackless_events_at_end": trackless_events,
            "trackless_cluster": CLUSTER,
            "model": "ballistic arcs (e2e.track_report), one per missile",
        },
    )
