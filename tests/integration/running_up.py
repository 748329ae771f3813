"""`warnlink up` as a process for the integration tests, seen as a national integrator sees it.

`RunningUp.start` runs ``warnlink up --data D --port 0`` and waits for
``D/endpoints.json``; sources are registered with ``warnlink sources add`` (a process of
its own, as a person would type it); each party's API and ``/metrics`` are read over
HTTPS with that party's operator certificate. Waits are bounded (`PATIENCE_S`), never
expected to elapse.
"""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from warnlink.security.certs import CERTS_DIR, client_ssl_context, party_certs

PATIENCE_S: Final = 60.0  # a guard against a hang, never expected to elapse
POLL_S: Final = 0.25
PARTIES: Final = ("ROK", "JPN", "USA")

T = TypeVar("T")


def wait_until(
    what: str,
    look: Callable[[], T],
    ready: Callable[[T], object] = bool,
    patience_s: float = PATIENCE_S,
) -> T:
    """What `look` returns once `ready` says so, looking every `POLL_S` (bounded)."""
    deadline = time.monotonic() + patience_s
    while True:
        found = look()
        if ready(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}; last seen: {found!r}"[:4000])
        time.sleep(POLL_S)


@dataclass(frozen=True, slots=True)
class Source:
    """A registered source: its party, name and certificate files."""

    party: str
    name: str
    cert: Path
    key: Path


@dataclass
class RunningUp:
    """A running ``warnlink up`` and what it says (``D/endpoints.json``)."""

    data: Path
    process: subprocess.Popen[bytes]
    endpoints: dict[str, dict[str, str]]

    @classmethod
    def start(cls, data: Path) -> RunningUp:
        """Start ``warnlink up --data <data> --port 0``; return once every node listens."""
        log = data.parent / f"{data.name}-up.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "warnlink", "up", "--data", str(data), "--port", "0"],
                stdout=subprocess.DEVNULL,
                stderr=out,
            )

        def endpoints() -> dict[str, dict[str, str]] | None:
            assert process.poll() is None, f"up ended: {log.read_text()}"
            try:
                found: dict[str, dict[str, str]] = json.loads(
                    (data / "endpoints.json").read_text(encoding="utf-8")
                )
            except (OSError, ValueError):
                return None
            return found

        try:
            return cls(data, process, wait_until("up wrote its endpoints", endpoints))
        except BaseException:
            process.kill()
            process.wait()
            raise

    def stop(self) -> None:
        """Ctrl-C, as a person would; killed if it does not stop."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(PATIENCE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def certs(self) -> Path:
        return self.data / CERTS_DIR

    def sources(self, *argv: str) -> str:
        """``warnlink sources ARGV --data D``: what it printed."""
        done = subprocess.run(
            [sys.executable, "-m", "warnlink", "sources", *argv, "--data", str(self.data)],
            capture_output=True,
            text=True,
            timeout=PATIENCE_S,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def add_source(self, party: str, name: str, *options: str) -> Source:
        """``warnlink sources add PARTY NAME --json [options]``: a new source."""
        paths = json.loads(self.sources("add", party, name, "--json", *options))
        return Source(party, name, Path(paths["cert"]), Path(paths["key"]))

    def revoke_source(self, source: Source) -> None:
        """``warnlink sources revoke PARTY NAME``."""
        self.sources("revoke", source.party, source.name)

    def tls(
        self, server_party: str, cert: Path | None = None, key: Path | None = None
    ) -> ssl.SSLContext:
        """A client context trusting `server_party`'s CA, with a certificate if given."""
        context = ssl.create_default_context(cafile=party_certs(self.certs, server_party).ca)
        if cert is not None:
            context.load_cert_chain(cert, key)
        return context

    def source_tls(self, source: Source) -> ssl.SSLContext:
        return self.tls(source.party, source.cert, source.key)

    def operator(self, party: str) -> ssl.SSLContext:
        return client_ssl_context(self.certs, party, "operator")

    def http(self, party: str) -> str:
        """The party's base HTTPS URL (ends with ``/``)."""
        return self.endpoints[party]["http"]

    def get(self, party: str, path: str) -> httpx.Response:
        """GET one of the party's routes as its operator."""
        with httpx.Client(verify=self.operator(party), timeout=PATIENCE_S) as client:
            return client.get(self.http(party) + path)

    def state(self, party: str) -> dict[str, Any]:
        """The party's ``/api/state``."""
        response = self.get(party, "api/state")
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state

    def counters(self, party: str, metric: str, label: str) -> dict[str, float]:
        """One labelled counter of the party's ``/metrics``: label value -> count."""
        text = self.get(party, "metrics").text
        return {
            sample.labels[label]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == metric
        }

    def rejected(self, party: str) -> dict[str, float]:
        """``warnlink_ingest_rejected_total`` of the party's node, by reason."""
        return self.counters(party, "warnlink_ingest_rejected_total", "reason")

    def ingested(self, party: str) -> dict[str, float]:
        """``warnlink_ingest_records_total`` of the party's node, by outcome."""
        return self.counters(party, "warnlink_ingest_records_total", "outcome")
