"""UDL MissileTrack in: a ``createBulk`` body to `SourceRecord`s and typed refusals.

Every node serves UDL's bulk path, ``POST /udl/missiletrack/createBulk`` (`web.ingest`),
and takes the same bytes over NATS; both call `ingest_udl`. The body is a JSON array of
MissileTrack records (`udl_schema.MissileTrack`, the accepted subset; ``warnlink schema
ingest`` prints it). `parse_batch` is pure: bytes in, records and refusals out.

A batch is checked whole; each refusal names its record (``index``) and the UDL field
(``[3].vectors[0].pos``):

- the input: at most `MAX_BODY_BYTES` (``too_large``), then as `udl_decode` says
  (``not_json``, ``too_deep``, ``shape``, ``too_many``; per record ``shape``,
  ``required``, ``unknown_field``, ``data_mode``, ``not_finite``, ``latitude``,
  ``longitude``...); at least one record, at most `MAX_RECORDS` state vectors;
- each record: times ISO 8601 with a zone (``epoch``), frames handled (``frame``), a
  covariance of 21 or 45 values, symmetric positive semi-definite as given and again
  in ECEF (``covariance``), and in ECEF the checks of `sources.checks` (``altitude``,
  ``speed``, ``not_finite``).

Mapping (one `SourceRecord` per state vector; a record's vectors in epoch order, the
batch's records stably sorted by epoch):

- state: km and km/s to m and m/s; J2000 to ECEF by `sources.frames`;
- covariance: the 6x6 position-velocity block (of a 9x9 with acceleration), km to m;
  UVW rotated by the state's own axes into the vectors' frame; J2000 to ECEF with the
  state's Jacobian;
- phase: ``boost`` while ``boosting``; else ``terminal`` below
  `model.payloads.TERMINAL_ALTITUDE_M` on the way down (r . v < 0), ``midcourse``
  otherwise;
- quality: ``trkQual``, else from the covariance's largest position sigma
  (`model.track_estimate.quality_from_sigma`), else 0 (no covariance, no quality);
- sensor: the vector's ``idSensor``;
- only the latest vector carries the record's own word: ``lost`` (``lostTrkInd``, or
  ``mslStatus`` LOST), the national launch (``launchLat``, ``launchLon``,
  ``launchTime``, with ``launchAlt`` when given) and impact (``impactLat``,
  ``impactLon``, ``impactTime``, with ``impactConf`` / 100 as its confidence). An
  assessment comes whole, with an ``ELLIPSE`` area of uncertainty, or not at all
  (``required``; other AOU types: ``value``). UDL states no containment probability for
  these ellipses: they are taken as 95 %. Semi-axes given the wrong way round are
  swapped (the same ellipse);
- ``source`` is the authenticated source the node names, never UDL's ``source`` field;
  ``party`` is the node's; ``dataMode`` travels as the record's data mode.

What the sink refuses of the records (``stale``, ``future``, ``mode_changed``...) is
answered in the body's terms: the MissileTrack's index and its UDL field
(``[1].vectors[0].epoch``), not the record's place in the epoch-ordered batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from warnlink.counters import Counters
from warnlink.errors import IngestError
from warnlink.geo.wgs84 import FloatArray, geodetic_altitude_m
from warnlink.model import bounds
from warnlink.model.covariance import unpack_covariance
from warnlink.model.payloads import TERMINAL_ALTITUDE_M, Ellipse, Phase
from warnlink.model.record import NationalImpact, NationalLaunch, SourceRecord
from warnlink.model.time import iso_to_utc_ns
from warnlink.model.track_estimate import quality_from_sigma
from warnlink.sources import checks, frames
from warnlink.sources.base import IngestAnswer, RecordSink, Refusal
from warnlink.sources.udl_decode import MAX_RECORDS, decode_batch, whole
from warnlink.sources.udl_schema import ELLIPSE, HANDLED_COV_FRAMES, HANDLED_FRAMES, MissileTrack

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_RECORDS",
    "count_refusals",
    "ingest_udl",
    "parse_batch",
    "status_for",
]

MAX_BODY_BYTES: Final = 4 * 1024 * 1024
"""Largest body taken, bytes (4 MiB)."""
KM: Final = 1000.0
_COV_SIZES: Final = {21: 6, 45: 9}
_UPPER: Final = np.triu_indices(6)
#: The HTTP status of an answer whose refusals include the reason (first match wins).
_STATUS: Final = (
    ("unauthenticated", 401),
    ("unregistered", 403),
    ("revoked", 403),
    ("slow", 408),
    ("too_large", 413),
    ("too_many", 413),
    ("content_type", 415),
    ("flood", 429),
)


def parse_batch(
    body: bytes, *, party: str, source: str
) -> tuple[list[SourceRecord], list[Refusal]]:
    """The records of a ``createBulk`` body, and every refusal (see the module docstring).

    Args:
        body: the request body (or NATS payload) as received.
        party: the node's party: every record's `party`.
        source: the authenticated source's registered name: every record's `source`.

    Returns:
        The records made from the MissileTrack records that passed, in epoch order, and
        the refusals. A batch with any refusal is refused whole (`ingest_udl` does).
    """
    parsed = _parse(body, party, source)
    return [record for record, _ in parsed.records], parsed.refused


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where in a createBulk body a record came from: its MissileTrack and its vector."""

    index: int
    vector: int


@dataclass
class _Parsed:
    records: list[tuple[SourceRecord, _Origin]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def _parse(body: bytes, party: str, source: str) -> _Parsed:
    if len(body) > MAX_BODY_BYTES:
        return _Parsed(
            refused=[whole("too_large", f"{len(body)} bytes; the limit is {MAX_BODY_BYTES}")]
        )
    tracks, refused = decode_batch(body)
    if any(r.index is None for r in refused):
        return _Parsed(refused=refused)
    if not tracks and not refused:
        return _Parsed(refused=[whole("shape", "an empty batch: send at least one record")])
    vectors = sum(len(t.vectors) for t in tracks.values())
    if vectors > MAX_RECORDS:
        message = f"{vectors} state vectors; the limit is {MAX_RECORDS}"
        return _Parsed(refused=[whole("too_many", message)])
    reads = [_Read.of(index, track) for index, track in tracks.items()]
    rows = [row for read in reads if not read.refused for row in read.rows]
    batch = _Batch.of(rows)
    refused += [r for read in reads for r in read.refused] + batch.refused
    bad = {r.index for r in refused}
    records = batch.records([read for read in reads if read.index not in bad], party, source)
    records.sort(key=lambda taken: taken[0].epoch_ns)
    refused.sort(key=lambda r: (r.index or 0, r.field))
    return _Parsed(records, refused)


#: The UDL field of a record a sink's refusal names, by reason (others: the vector).
_SINK_FIELDS: Final = {
    "stale": "vectors[{vector}].epoch",
    "future": "vectors[{vector}].epoch",
    "mode_changed": "dataMode",
}


def _in_udl_terms(refusal: Refusal, records: Sequence[tuple[SourceRecord, _Origin]]) -> Refusal:
    """A sink's refusal of a record (its place in the epoch-ordered batch the sink was
    given), as the source sent it: its MissileTrack's index and UDL field."""
    if refusal.index is None or refusal.field:
        return refusal
    origin = records[refusal.index][1]
    name = _SINK_FIELDS.get(refusal.reason, "vectors[{vector}]").format(vector=origin.vector)
    return Refusal(origin.index, f"[{origin.index}].{name}", refusal.reason, refusal.message)


async def ingest_udl(
    sink: RecordSink,
    source: str,
    party: str,
    body: bytes,
    *,
    counters: Counters | None = None,
) -> tuple[int, dict[str, object]]:
    """Parse a ``createBulk`` body and, when nothing was refused, give it to `sink`.

    Serves HTTP (`web.ingest`) and NATS alike. The sink's refusals are answered in the
    body's terms (the MissileTrack's index, a UDL field). What the body is refused for
    is counted as ``ingest_rejected.<reason>`` in `counters`, as is a refusal the sink
    raises; what the sink answers refused, the sink counts (`sources.intake.Intake`
    does, for every port alike), so nothing is counted twice.

    A body of more than `THREAD_PARSE_BYTES` is parsed in a worker thread, so that a
    large batch does not hold the node's event loop (its other sources, its display)
    for the half second its parsing takes.

    Returns:
        The HTTP status (`status_for`) and the answer (`IngestAnswer.as_json`).
    """
    if len(body) > THREAD_PARSE_BYTES:
        parsed = await asyncio.to_thread(_parse, body, party, source)
    else:
        parsed = _parse(body, party, source)
    if parsed.refused:
        answer = IngestAnswer(refused=tuple(parsed.refused))
        uncounted = answer.refused
    else:
        try:
            taken = await sink.take(source, [record for record, _ in parsed.records])
            uncounted = ()
        except IngestError as exc:
            taken = IngestAnswer(refused=(Refusal.of(exc),))
            uncounted = taken.refused
        answer = IngestAnswer(
            taken.accepted,
            taken.duplicates,
            tuple(_in_udl_terms(r, parsed.records) for r in taken.refused),
        )
    if counters is not None:
        count_refusals(counters, uncounted)
    return status_for(answer.refused), answer.as_json()


#: Bodies larger than this are parsed off the event loop (about 250 records).
THREAD_PARSE_BYTES: Final = 64 * 1024


def count_refusals(counters: Counters, refused: Sequence[Refusal]) -> None:
    """Count each refusal as ``ingest_rejected.<reason>``."""
    for refusal in refused:
        counters.inc(f"{IngestError.counter_key}.{refusal.reason}")


def status_for(refused: Sequence[Refusal]) -> int:
    """The HTTP status of an answer: 200 when nothing was refused, else its 4xx."""
    if not refused:
        return 200
    reasons = {r.reason for r in refused}
    return next((status for reason, status in _STATUS if reason in reasons), 400)


@dataclass(frozen=True, slots=True)
class _Row:
    """One state vector as sent (km, km/s), its time parsed and frames known."""

    index: int
    wire: int
    epoch_ns: int
    state_km: tuple[float, ...]
    frame: str
    cov: list[float] | None
    cov_frame: str
    sensor: str | None


@dataclass
class _Read:
    """What one MissileTrack record says, read without arithmetic on its vectors."""

    index: int
    track: MissileTrack
    rows: list[_Row] = field(default_factory=list)
    launch: NationalLaunch | None = None
    impact: NationalImpact | None = None
    refused: list[Refusal] = field(default_factory=list)

    @classmethod
    def of(cls, index: int, track: MissileTrack) -> _Read:
        read = cls(index, track)
        read.time_ns("ts", track.ts)
        for j in range(len(track.vectors)):
            read.vector(j)
        read.rows.sort(key=lambda r: r.epoch_ns)
        for earlier, later in zip(read.rows, read.rows[1:], strict=False):
            if earlier.epoch_ns == later.epoch_ns:
                read.refuse(f"vectors[{later.wire}].epoch", "value", "two vectors at one epoch")
        read.launch = read.national_launch()
        read.impact = read.national_impact()
        return read

    def refuse(self, where: str, reason: str, message: str) -> None:
        self.refused.append(Refusal(self.index, f"[{self.index}].{where}", reason, message))

    def time_ns(self, where: str, text: str) -> int | None:
        try:
            return iso_to_utc_ns(text)
        except ValueError as exc:
            self.refuse(where, "epoch", str(exc))
            return None

    def vector(self, j: int) -> None:
        vector = self.track.vectors[j]
        where = f"vectors[{j}]"
        before = len(self.refused)
        epoch_ns = self.time_ns(f"{where}.epoch", vector.epoch)
        frame = vector.reference_frame or "ECEF"
        cov_frame = vector.cov_reference_frame or "UVW"
        if frame not in HANDLED_FRAMES:
            self.refuse(f"{where}.referenceFrame", "frame", f"{frame!r}: take {HANDLED_FRAMES}")
        if vector.cov is not None and cov_frame not in HANDLED_COV_FRAMES:
            message = f"{cov_frame!r}: take {HANDLED_COV_FRAMES}"
            self.refuse(f"{where}.covReferenceFrame", "frame", message)
        if vector.cov is not None and len(vector.cov) not in _COV_SIZES:
            message = f"{len(vector.cov)} values: give 21 (6x6) or 45 (9x9)"
            self.refuse(f"{where}.cov", "covariance", message)
        if epoch_ns is not None and len(self.refused) == before:
            state = (*vector.pos, *vector.vel)
            row = _Row(
                self.index, j, epoch_ns, state, frame, vector.cov, cov_frame, vector.id_sensor
            )
            self.rows.append(row)

    def national_launch(self) -> NationalLaunch | None:
        t = self.track
        found = self.assessment(
            "launch",
            t.launch_lat,
            t.launch_lon,
            t.launch_time,
            t.launch_aou_type,
            t.launch_aou_data,
        )
        if found is None:
            return None
        lat, lon, time_ns, aou = found
        alt_m = None if t.launch_alt is None else t.launch_alt * KM
        if alt_m is not None and not bounds.MIN_ALTITUDE_M < alt_m <= bounds.MAX_ALTITUDE_M:
            self.refuse("launchAlt", "altitude", f"{t.launch_alt:g} km is not a launch height")
            return None
        return NationalLaunch(lat, lon, time_ns, 0.0, aou, alt_m)

    def national_impact(self) -> NationalImpact | None:
        t = self.track
        found = self.assessment(
            "impact",
            t.impact_lat,
            t.impact_lon,
            t.impact_time,
            t.impact_aou_type,
            t.impact_aou_data,
        )
        if found is None:
            return None
        lat, lon, time_ns, aou = found
        confidence = None if t.impact_conf is None else t.impact_conf / 100.0
        return NationalImpact(lat, lon, time_ns, 0.0, aou, confidence)

    def assessment(
        self,
        prefix: str,
        lat: float | None,
        lon: float | None,
        time_text: str | None,
        aou_type: str | None,
        aou_data: tuple[float, float, float] | None,
    ) -> tuple[float, float, int, Ellipse] | None:
        """The point, time and 95 % ellipse of a launch or impact: given whole, or not at all."""
        names = [prefix + n for n in ("Lat", "Lon", "Time", "AouType", "AouData")]
        values = (lat, lon, time_text, aou_type, aou_data)
        if all(v is None for v in values):
            return None
        if lat is None or lon is None or time_text is None or aou_type is None or aou_data is None:
            missing = [n for n, v in zip(names, values, strict=True) if v is None]
            message = f"a {prefix} assessment takes all of {', '.join(names)}"
            self.refuse(missing[0], "required", f"{message}: {', '.join(missing)} missing")
            return None
        if aou_type.upper() != ELLIPSE:
            message = f"{aou_type!r}: only ELLIPSE is taken for the {prefix} point"
            self.refuse(f"{prefix}AouType", "value", message)
            return None
        time_ns = self.time_ns(f"{prefix}Time", time_text)
        aou = self.ellipse(f"{prefix}AouData", aou_data)
        if time_ns is None or aou is None:
            return None
        return lat, lon, time_ns, aou

    def ellipse(self, where: str, data: tuple[float, float, float]) -> Ellipse | None:
        """UDL's ELLIPSE [orientation deg, semi-major km, semi-minor km] as an `Ellipse`."""
        bearing, a_km, b_km = data
        if a_km < 0.0 or b_km < 0.0:
            self.refuse(where, "value", f"a negative semi-axis in {list(data)}")
            return None
        if b_km > a_km:  # the axes the other way round: the same ellipse
            a_km, b_km, bearing = b_km, a_km, bearing + 90.0
        orientation = bearing % 180.0
        return Ellipse(a_km * KM, b_km * KM, 0.0 if orientation >= 180.0 else orientation)


@dataclass
class _Batch:
    """Every row of a batch in the node's frame (ECEF, m, m/s), computed as arrays."""

    rows: list[_Row]
    states: FloatArray
    covs: FloatArray
    has_cov: NDArray[np.bool_]
    refused: list[Refusal]

    @classmethod
    def of(cls, rows: list[_Row]) -> _Batch:
        n = len(rows)
        with np.errstate(over="ignore"):  # inf is refused by the checks
            states = np.array([r.state_km for r in rows], dtype=np.float64).reshape(n, 6) * KM
        batch = cls(rows, states, np.zeros((n, 6, 6)), np.zeros(n, dtype=bool), [])
        if not n:
            return batch
        batch.covariances_as_given()
        batch.uvw_to_vector_frame()
        batch.j2000_to_ecef()
        batch.physical_checks()
        return batch

    def refuse(self, k: int, name: str, reason: str, message: str) -> None:
        row = self.rows[k]
        where = f"[{row.index}].vectors[{row.wire}].{name}"
        self.refused.append(Refusal(row.index, where, reason, message))

    def covariances_as_given(self) -> None:
        """Unpack, check in the stated frame and units, keep the 6x6 block in m and s."""
        for count, size in _COV_SIZES.items():
            ks = [k for k, r in enumerate(self.rows) if r.cov is not None and len(r.cov) == count]
            if not ks:
                continue
            full = unpack_covariance([self.rows[k].cov or () for k in ks], size)
            refused = {f.row: f for f in checks.covariance_findings(full)}
            for m, k in enumerate(ks):
                if m in refused:
                    self.refuse(k, "cov", "covariance", f"as given: {refused[m].message}")
                else:
                    with np.errstate(over="ignore"):  # inf is refused after conversion
                        self.covs[k] = full[m, :6, :6] * (KM * KM)
                    self.has_cov[k] = True

    def uvw_to_vector_frame(self) -> None:
        """UVW covariances rotated by their state's axes into the vectors' frame."""
        ks = [k for k, r in enumerate(self.rows) if self.has_cov[k] and r.cov_frame == "UVW"]
        if not ks:
            return
        axes, defined = frames.uvw_axes(self.states[ks, :3], self.states[ks, 3:])
        for m, k in enumerate(ks):
            if not defined[m]:
                self.refuse(k, "cov", "covariance", "UVW axes undefined: velocity along position")
                self.has_cov[k] = False
        ok = [k for m, k in enumerate(ks) if defined[m]]
        self.covs[ok] = frames.rotate_covariance(self.covs[ok], np.swapaxes(axes[defined], -1, -2))

    def j2000_to_ecef(self) -> None:
        for k, row in enumerate(self.rows):
            cov_in_j2000 = self.has_cov[k] and (
                row.cov_frame == "J2000" or (row.cov_frame == "UVW" and row.frame == "J2000")
            )
            if row.frame != "J2000" and not cov_in_j2000:
                continue
            jacobian = frames.j2000_to_ecef_jacobian(row.epoch_ns)
            if row.frame == "J2000":
                self.states[k] = jacobian @ self.states[k]
            if cov_in_j2000:
                self.covs[k] = frames.transform_covariance(self.covs[k], jacobian)

    def physical_checks(self) -> None:
        for finding in checks.position_findings(self.states[:, :3]):
            self.refuse(finding.row, "pos", finding.reason, finding.message)
        for finding in checks.velocity_findings(self.states[:, 3:]):
            self.refuse(finding.row, "vel", finding.reason, finding.message)
        ks = np.flatnonzero(self.has_cov)
        for finding in checks.covariance_findings(self.covs[ks]):
            message = f"in ECEF, m and s units: {finding.message}"
            self.refuse(int(ks[finding.row]), "cov", finding.reason, message)

    def records(
        self, reads: Sequence[_Read], party: str, source: str
    ) -> list[tuple[SourceRecord, _Origin]]:
        """The records of the MissileTrack records in `reads` (those that passed), each
        with where it came from."""
        rows_of: dict[int, list[int]] = {}
        for k, row in enumerate(self.rows):
            rows_of.setdefault(row.index, []).append(k)
        taken = [k for read in reads for k in rows_of.get(read.index, [])]
        if not taken:
            return []
        states = self.states[taken]
        low = geodetic_altitude_m(states[:, :3]) < TERMINAL_ALTITUDE_M
        descending = np.einsum("ij,ij->i", states[:, :3], states[:, 3:]) < 0.0
        sigma_m = np.sqrt(np.maximum(np.linalg.eigvalsh(self.covs[taken, :3, :3])[:, -1], 0.0))
        at = {k: m for m, k in enumerate(taken)}
        values = states.tolist()
        packed = self.covs[taken][:, _UPPER[0], _UPPER[1]].tolist()
        out = []
        for read in reads:
            t = read.track
            ks = rows_of.get(read.index, [])
            lost = t.lost_trk_ind is True or (t.msl_status or "").upper() == "LOST"
            for k in ks:
                m = at[k]
                latest = k == ks[-1]
                if t.boosting:
                    phase = Phase.BOOST
                else:
                    phase = Phase.TERMINAL if low[m] and descending[m] else Phase.MIDCOURSE
                if t.trk_qual is not None:
                    quality = t.trk_qual
                else:
                    quality = quality_from_sigma(float(sigma_m[m])) if self.has_cov[k] else 0
                record = SourceRecord(
                    source=source,
                    party=party,
                    track_id=t.track_id,
                    epoch_ns=self.rows[k].epoch_ns,
                    data_mode=t.data_mode,
                    pos_ecef_m=(values[m][0], values[m][1], values[m][2]),
                    vel_ecef_mps=(values[m][3], values[m][4], values[m][5]),
                    phase=phase,
                    quality=quality,
                    cov=tuple(packed[m]) if self.has_cov[k] else None,
                    sensor=self.rows[k].sensor,
                    launch=read.launch if latest else None,
                    impact=read.impact if latest else None,
                    lost=latest and lost,
                )
                out.append((record, _Origin(read.index, self.rows[k].wire)))
        return out
