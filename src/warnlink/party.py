"""What a node process of `warnlink up` runs: its party's runtime with every port open.

The node (`runtime.NodeRuntime`) is fed by its party's national systems and serves what
its party may see, all on the party's own certificates (mutual TLS with the party's CA):

- HTTPS: the display, its JSON API and WebSocket, ``/metrics``, and the UDL ingest route
  (``POST /udl/missiletrack/createBulk``, `web.ingest`), for the party's operators and
  its registered sources (`sources.registry`);
- NATS: ``ingest.missiletrack`` requests of its registered sources on the party's own
  server, answered on the node's connection (`sources.nats_ingest`);
- CoT: a TLS stream (`sources.cot_stream`) where TAK clients receive the party's
  picture and registered TAK sources send CoT in;
- CAP: every alert message, as it is issued, in ``<folder>/cap/<identifier>.xml``.

Each source's health (`sources.health`) is followed from every port's answers.
Once every port listens, the process writes where (``<folder>/endpoints.json``:
``http``, ``nats``, ``cot``); `deploy.Deployment` gathers them into the data folder's
``endpoints.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec
from fastapi import FastAPI

from warnlink.alerting.cap import to_cap
from warnlink.deploy import ENDPOINTS_FILE, relay_audit_path, run_party
from warnlink.errors import IngestError
from warnlink.interop.cot_feed import picture_cot
from warnlink.model.record import DataMode
from warnlink.runtime import NodeRuntime, Output
from warnlink.security.certs import CERTS_DIR, server_ssl_context
from warnlink.sharing.federation import Federation
from warnlink.sharing.nats_topology import PartyAccess
from warnlink.sources.base import IngestAnswer
from warnlink.sources.cot_stream import CotStreamServer
from warnlink.sources.health import HealthTracker
from warnlink.sources.nats_ingest import serve_ingest
from warnlink.sources.registry import SourceRegistry
from warnlink.sources.udl import ingest_udl
from warnlink.transport.nats import NatsBus
from warnlink.transport.private import private_file, write_private
from warnlink.web.app import create_app
from warnlink.web.display import Display, no_decisions
from warnlink.web.ingest import ingest_router
from warnlink.web.peer import source_of
from warnlink.web.serve import AuditTail, DisplayServers

#: Seconds between two looks for new alerts to write as CAP files.
CAP_EVERY_S: Final = 1.0


@dataclass(frozen=True, slots=True)
class PartyPorts:
    """Where a node process listens: `host`, and a port for HTTPS and one for CoT (0: a
    free one)."""

    host: str = "127.0.0.1"
    http: int = 0
    cot: int = 0


@dataclass
class Endpoints:
    """Where a party's node listens, gathered as its ports open (``http``, ``nats``: once
    the node answers ingest requests there, ``cot``); written, with this process's pid,
    once all three are known."""

    path: Path
    found: dict[str, object] = field(default_factory=dict)

    def add(self, name: str, where: str) -> None:
        self.found[name] = where
        if {"http", "nats", "cot"} <= self.found.keys():
            data = {**self.found, "pid": os.getpid()}
            temporary = self.path.with_suffix(".tmp")
            private_file(temporary).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
            temporary.replace(self.path)


class PartyPortsRunner:
    """The outputs of one party's node process (see the module docstring)."""

    def __init__(
        self,
        federation: Federation,
        access: PartyAccess,
        data: Path,
        ports: PartyPorts,
    ) -> None:
        self.federation = federation
        self.party = access.party
        self.data = data
        self.ports = ports
        self.folder = data / access.party
        self.registry = SourceRegistry(data, access.party)
        self.health = HealthTracker()
        self.endpoints = Endpoints(self.folder / ENDPOINTS_FILE)
        self.nats_url = access.url
        self.tls: ssl.SSLContext = server_ssl_context(data / CERTS_DIR, access.party)

    def on_answer(self, source: str, answer: IngestAnswer, now_ns: int) -> None:
        """Every intake answer, for the source's health."""
        self.health.observe(source, answer, now_ns)

    def outputs(self) -> list[Output]:
        return [self.serve_https, self.serve_nats, self.serve_cot, self.write_cap]

    async def serve_https(self, runtime: NodeRuntime, stop: asyncio.Event) -> None:
        """The display, API, metrics and UDL ingest route on one HTTPS port."""
        party = self.party
        display = Display(
            party,
            self.federation.parties[party],
            self.federation.peers(party),
            decisions=AuditTail(relay_audit_path(self.data, party))
            if party in self.federation.relays
            else no_decisions,
            sources=lambda: self.health.snapshot(self.registry.entries(), time.time_ns()),
        )
        display.attach(runtime.node)

        def app_for(shown: Display) -> FastAPI:
            app = create_app(shown)
            app.include_router(
                ingest_router(
                    runtime.intake,
                    party,
                    lambda request: source_of(request, self.registry),
                    runtime.node.counters,
                )
            )
            return app

        servers = DisplayServers(
            [display],
            host=self.ports.host,
            base_port=self.ports.http,
            ssl_context=self.tls,
            app_for=app_for,
        )
        self.endpoints.add("http", servers.urls[party])
        await servers.run(stop)

    async def serve_nats(self, runtime: NodeRuntime, stop: asyncio.Event) -> None:
        """UDL MissileTrack requests of the party's sources on its own NATS server."""
        bus = runtime.node.gateway.bus
        if not isinstance(bus, NatsBus):
            raise TypeError(f"{self.party}'s node runs on no NATS server")
        intake, party = runtime.intake, self.party

        async def handle(source: str, body: bytes) -> bytes:
            _, answer = await ingest_udl(
                intake, source, party, body, counters=runtime.node.counters
            )
            return msgspec.json.encode(answer)

        def refused(source: str, error: IngestError) -> None:
            self.health.refuse(source, error.reason)

        ready = asyncio.Event()
        serving = asyncio.create_task(
            serve_ingest(
                bus.client, handle, stop, registry=self.registry, on_refused=refused, ready=ready
            )
        )
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait([serving, waiting], return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            self.endpoints.add("nats", self.nats_url)
        waiting.cancel()
        await serving

    async def serve_cot(self, runtime: NodeRuntime, stop: asyncio.Event) -> None:
        """The CoT stream: the party's picture out, its TAK sources in."""

        def identify(der: bytes) -> str | None:
            try:
                return self.registry.authenticate(der).name
            except IngestError as exc:
                if exc.reason == "unregistered":
                    return None  # an operator's TAK client: it receives only
                raise

        def default_mode(source: str) -> DataMode:
            return DataMode(self.registry.source(source).data_mode)

        node = runtime.node
        server = CotStreamServer(
            self.party,
            runtime.intake,
            identify=identify,
            default_mode=default_mode,
            ssl_context=self.tls,
            counters=node.counters,
        )
        port = await server.start(self.ports.host, self.ports.cot)
        self.endpoints.add("cot", f"{self.ports.host}:{port}")
        await server.run(picture_cot(self.party, lambda: node), stop)

    async def write_cap(self, runtime: NodeRuntime, stop: asyncio.Event) -> None:
        """Every alert message the node issues, as a CAP 1.2 file, once a second."""
        folder = self.folder / "cap"
        written = 0
        while not stop.is_set():
            alerts = runtime.node.alerts.alerts
            for alert in alerts[written:]:
                write_private(folder / f"{alert.identifier}.xml", to_cap(alert))
            written = len(alerts)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CAP_EVERY_S)


async def serve_party(
    federation: Federation,
    access: PartyAccess,
    data: Path,
    stop: asyncio.Event,
    *,
    ports: PartyPorts,
    ack_wait_s: float,
) -> None:
    """Run one party's node with every port until `stop` is set (``warnlink party``)."""
    runner = PartyPortsRunner(federation, access, data, ports)
    await run_party(
        federation,
        access,
        "node",
        data,
        stop,
        outputs=runner.outputs(),
        ack_wait_s=ack_wait_s,
        on_answer=runner.on_answer,
    )
