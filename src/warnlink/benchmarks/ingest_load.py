"""The ingest benchmark's load: a salvo as a national system sends it, and its clients.

`Salvo` is `missiles` missiles of one party seen by one national source: at any event
time, one `SourceRecord` per missile (midcourse, ECEF state with a covariance, the
national system's own launch and impact assessments, TEST data), as a UDL
``createBulk`` body (`sources.udl_encode.udl_body`). The missiles fly straight at
constant velocity from 300 km over the Korean peninsula (a benchmark's geometry, not
a ballistic one: the node checks states, not physics), 20 km or more apart so every
picture keeps them apart.

The clients are the least a client can do per batch, so the figures are the server's:
`HttpsClient` speaks HTTP/1.1 over one kept-alive TLS connection (a request, its
answer); the NATS clients are nats-py's own (`nats.connect`, `request`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import numpy as np

from warnlink.errors import TransportError
from warnlink.geo.wgs84 import enu_rotation, lla_to_ecef
from warnlink.model.payloads import Ellipse, Phase
from warnlink.model.record import DataMode, NationalImpact, NationalLaunch, SourceRecord
from warnlink.model.time import NS_PER_S
from warnlink.sources.admin import add_source
from warnlink.sources.udl_encode import udl_body

ALTITUDE_M: Final = 300_000.0
#: East, north, up velocity, m/s: eastwards, climbing.
VELOCITY_ENU_MPS: Final = (2500.0, 300.0, 400.0)
#: A track's covariance (21 upper-triangle entries): 300 m and 10 m/s 1-sigma per axis.
COVARIANCE: Final = tuple(
    300.0**2 if i in (0, 6, 11) else 10.0**2 if i in (15, 18, 20) else 0.0 for i in range(21)
)
LAUNCH_AOU: Final = Ellipse(semi_major_m=5_000.0, semi_minor_m=3_000.0, orientation_deg=10.0)
IMPACT_AOU: Final = Ellipse(semi_major_m=20_000.0, semi_minor_m=8_000.0, orientation_deg=30.0)
#: The national impact assessment's time after the salvo's start, s: past the longest
#: benchmark (the 10-minute soak), so no track is reported impacted while it is fed.
IMPACT_AFTER_S: Final = 3_600
INGEST_PATH: Final = "/udl/missiletrack/createBulk"
#: Longest wait for one answer, s: a guard against a hang, never expected to elapse.
ANSWER_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class _Flight:
    pos_m: tuple[float, float, float]
    vel_mps: tuple[float, float, float]
    launch: NationalLaunch
    impact: NationalImpact


class Salvo:
    """`missiles` missiles of `party` seen by its source `source` (module docstring).

    Args:
        source: the registered source's name (UDL's ``source``; the node names it anyway).
        party: the party the source writes as.
        missiles: how many missiles: track ids ``"1"`` to ``str(missiles)``.
        start_ns: UTC ns at which every missile is at its first position.
        first: the first missile's place in the grid of positions (another party's
            salvo from another place flies other missiles).
    """

    def __init__(
        self, source: str, party: str, missiles: int, start_ns: int, *, first: int = 0
    ) -> None:
        self.source = source
        self.party = party
        self.start_ns = start_ns
        self._flights = [self._flight(first + k, start_ns) for k in range(missiles)]

    @staticmethod
    def _flight(k: int, start_ns: int) -> _Flight:
        lat, lon = 38.0 + 0.2 * (k % 20), 127.0 + 0.25 * (k // 20)
        pos = lla_to_ecef(lat, lon, ALTITUDE_M)
        vel = enu_rotation(lat, lon).T @ np.array(VELOCITY_ENU_MPS)
        return _Flight(
            (float(pos[0]), float(pos[1]), float(pos[2])),
            (float(vel[0]), float(vel[1]), float(vel[2])),
            NationalLaunch(
                lat_deg=39.0,
                lon_deg=125.0 + 0.01 * k,
                time_ns=start_ns - 200 * NS_PER_S,
                time_sigma_s=2.0,
                aou=LAUNCH_AOU,
            ),
            NationalImpact(
                lat_deg=37.0 + 0.01 * k,
                lon_deg=139.0,
                time_ns=start_ns + IMPACT_AFTER_S * NS_PER_S,
                time_sigma_s=5.0,
                aou=IMPACT_AOU,
                confidence=0.9,
            ),
        )

    @property
    def track_ids(self) -> list[str]:
        return [str(k + 1) for k in range(len(self._flights))]

    def records(self, epoch_ns: int, track_ids: Sequence[str] | None = None) -> list[SourceRecord]:
        """Every missile's state at `epoch_ns`, one record each, in track id order (or
        only the missiles of `track_ids`, in that order)."""
        flown_s = (epoch_ns - self.start_ns) / NS_PER_S
        chosen = range(len(self._flights)) if track_ids is None else [int(t) - 1 for t in track_ids]
        out = []
        for k in chosen:
            flight = self._flights[k]
            p, v = flight.pos_m, flight.vel_mps
            out.append(
                SourceRecord(
                    source=self.source,
                    party=self.party,
                    track_id=str(k + 1),
                    epoch_ns=epoch_ns,
                    data_mode=DataMode.TEST,
                    pos_ecef_m=(
                        p[0] + v[0] * flown_s,
                        p[1] + v[1] * flown_s,
                        p[2] + v[2] * flown_s,
                    ),
                    vel_ecef_mps=v,
                    phase=Phase.MIDCOURSE,
                    quality=9,
                    cov=COVARIANCE,
                    sensor=f"{self.party}-R1",
                    launch=flight.launch,
                    impact=flight.impact,
                )
            )
        return out

    def body(self, epoch_ns: int) -> bytes:
        """`records` as a ``createBulk`` body."""
        return udl_body(self.records(epoch_ns))


def client_tls(ca: Path, cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS client context presenting `cert` and trusting only the CA `ca`."""
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    return context


class HttpsClient:
    """HTTP/1.1 over one TLS connection, kept alive and opened again once the server
    closed it (an idle timeout, ``Connection: close``).

    Args:
        url: the server's base URL, ``https://host:port``.
        tls: the client's TLS context.
    """

    def __init__(self, url: str, tls: ssl.SSLContext) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise TransportError(f"{url}: no host and port")
        self.host, self.port = parts.hostname, parts.port
        self.tls = tls
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", *, content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        """Send one request; its status and body.

        Raises:
            TransportError: the connection failed, or the answer is not HTTP/1.1 with a
                Content-Length.
        """
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                reader, writer = await self.connect()
                writer.write(head + body)
                status, length, close = _head(await reader.readuntil(b"\r\n\r\n"))
                data = await reader.readexactly(length)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            await self.close()
            raise TransportError(f"{method} {path} on {self.host}:{self.port}: {exc!r}") from exc
        if close:
            await self.close()
        return status, data

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The connection, opened (again) if the server closed it."""
        if self._reader is None or self._writer is None or self._reader.at_eof():
            await self.close()
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls
            )
        return self._reader, self._writer

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):  # closed either way
                await writer.wait_closed()


def _head(raw: bytes) -> tuple[int, int, bool]:
    """(status, Content-Length, whether the server closes) of a response head."""
    status_line, *lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if version != "HTTP/1.1" or not rest[:3].isdigit():
        raise TransportError(f"not an HTTP/1.1 answer: {status_line!r}")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines if line)
    }
    length = headers.get("content-length", "")
    if not length.isdigit():
        raise TransportError(f"an answer without Content-Length: {status_line!r}")
    return int(rest[:3]), int(length), headers.get("connection", "").lower() == "close"


def register_test_source(data: Path, party: str, name: str, now_ns: int) -> tuple[Path, Path]:
    """Register `party`'s national source `name` (test data) in `data`: its certificate
    and key files."""
    change = add_source(data, party, name, now_ns=now_ns, data_mode=DataMode.TEST)
    if change.cert is None or change.key is None:
        raise TransportError(f"{party}'s source {name} was registered without a certificate")
    return change.cert, change.key
