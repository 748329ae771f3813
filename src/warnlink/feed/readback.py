"""What `warnlink feed` reads of a running `warnlink up`: its endpoints, its sources'
certificates, and afterwards each party's picture, applied-log and CAP files.

- `wait_endpoints`: ``D/endpoints.json``, which `up` writes once every node listens; a
  file left by an earlier run is told apart by each party's own ``D/<P>/endpoints.json``
  naming a node process that is alive (the feed runs beside `up`, on its data folder).
- `source_files`: the feed's source of each party (``feed-<P>``), registered as
  ``warnlink sources add`` would (`sources.admin.add_source`), or the live one a
  previous feed registered.
- `party_state`: ``GET <http>/api/state`` with the party's operator certificate.
- `applied_entries`: the node's applied-log (``D/<P>/applied-<P>.sqlite``), every message
  its picture applied, with when. The node holds that SQLite file locked exclusively
  while it runs (`transport.sqlite_log.open_store`), and keeps no shared-memory index
  (exclusive WAL), so nothing can read it in place. It is copied, the database file
  and then its write-ahead log, and the database file is read again: unchanged, no
  checkpoint ran in between, and the two copies are one state of the store (a WAL frame
  being written as it is copied fails its checksum and is left out, as after a crash);
  changed, the copy is made again. The copy is opened as the store it is.
- `read_alerts`: every alert message the node wrote as CAP 1.2 (``D/<P>/cap/*.xml``).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import httpx2
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from warnlink.alerting.cap import CAP_NS
from warnlink.deploy import ENDPOINTS_FILE
from warnlink.errors import ConfigError, StoreError, TransportError
from warnlink.model.record import DataMode
from warnlink.security.certs import CERTS_DIR, client_ssl_context, party_certs
from warnlink.sources.admin import add_source
from warnlink.sources.registry import read_registry
from warnlink.transport.queue_store import QueuedMessage, SqliteQueueStore

#: Seconds between two looks for ``endpoints.json``.
POLL_S: Final = 0.2
#: Tries to copy a store between two checkpoints.
COPY_TRIES: Final = 10
HTTP_TIMEOUT_S: Final = 10.0


async def wait_endpoints(
    data: Path, parties: tuple[str, ...], timeout_s: float
) -> dict[str, dict[str, str]]:
    """Each party's endpoints (``http``, ``nats``, ``cot``), once `up` has written them.

    Raises:
        TransportError: not there (or only an earlier run's) within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        found = _endpoints(data, parties)
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise TransportError(
                f"no {data / ENDPOINTS_FILE} of a running federation within {timeout_s:.0f} s: "
                f"start `warnlink up --data {data}` first"
            )
        await asyncio.sleep(POLL_S)


def _endpoints(data: Path, parties: tuple[str, ...]) -> dict[str, dict[str, str]] | None:
    try:
        said = json.loads((data / ENDPOINTS_FILE).read_text(encoding="utf-8"))
        own = {p: json.loads((data / p / ENDPOINTS_FILE).read_text("utf-8")) for p in parties}
    except (OSError, ValueError):
        return None
    if not isinstance(said, dict) or any(
        not isinstance(said.get(p), dict) or not _alive(own[p].get("pid")) for p in parties
    ):
        return None
    return {p: {k: str(v) for k, v in said[p].items()} for p in parties}


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def source_files(data: Path, party: str, name: str, *, now_ns: int) -> tuple[Path, Path]:
    """The certificate and key of `party`'s source `name`: its live one, or a new one.

    Raises:
        ConfigError: the live source's files are gone (revoke it to issue new ones), or
            `sources.admin.add_source`'s errors.
        TransportError: the party's running NATS server did not reload.
    """
    live = [e for e in read_registry(data, party) if e.name == name and e.live]
    if live:
        folder = party_certs(data / CERTS_DIR, party).sources
        cert, key = folder / f"{name}-{live[0].serial}.pem", folder / f"{name}-{live[0].serial}.key"
        if not (cert.is_file() and key.is_file()):
            raise ConfigError(
                f"{party}'s source {name} is registered but its certificate is not in {folder}: "
                f"`warnlink sources revoke {party} {name} --data {data}` and feed again"
            )
        return cert, key
    change = add_source(data, party, name, now_ns=now_ns, data_mode=DataMode.SIMULATED)
    assert change.cert is not None
    assert change.key is not None
    return change.cert, change.key


async def party_state(data: Path, party: str, http: str) -> dict[str, Any]:
    """`party`'s display state, as its operators' API gives it.

    Raises:
        TransportError: no answer, or not a 200 with JSON.
    """
    tls = client_ssl_context(data / CERTS_DIR, party, "operator")
    tls.load_verify_locations(party_certs(data / CERTS_DIR, party).ca)
    url = http.rstrip("/") + "/api/state"
    try:
        async with httpx2.AsyncClient(verify=tls, timeout=HTTP_TIMEOUT_S) as client:
            response = await client.get(url)
        response.raise_for_status()
        state: dict[str, Any] = response.json()
    except (httpx2.HTTPError, ValueError) as exc:
        raise TransportError(f"cannot read {party}'s picture at {url}: {exc!r}") from exc
    return state


def applied_entries(data: Path, party: str) -> list[QueuedMessage]:
    """Every entry of `party`'s applied-log, read from a consistent copy.

    Raises:
        StoreError: no such store, or no copy between two checkpoints after
            `COPY_TRIES` tries.
    """
    path = data / party / f"applied-{party}.sqlite"
    if not path.is_file():
        raise StoreError(f"no applied-log at {path}: is this `warnlink up`'s data folder?")
    wal = path.with_name(path.name + "-wal")
    with tempfile.TemporaryDirectory(prefix="warnlink-feed-") as tmp:
        copy = Path(tmp) / path.name
        for _ in range(COPY_TRIES):
            before = path.read_bytes()
            log = wal.read_bytes() if wal.exists() else b""
            if path.read_bytes() == before:
                copy.write_bytes(before)
                if log:
                    copy.with_name(copy.name + "-wal").write_bytes(log)
                break
        else:
            raise StoreError(f"{path} changed under every one of {COPY_TRIES} copies")
        store = SqliteQueueStore(copy, what="applied-log copy", synchronous="NORMAL")
        try:
            return store.entries()
        finally:
            store.close()


def read_alerts(data: Path, party: str) -> list[dict[str, str]]:
    """Every CAP message `party`'s node wrote, oldest first: the fields the summary shows.

    A file that does not parse is skipped (the node may be writing it).
    """
    folder = data / party / "cap"
    alerts: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.xml")) if folder.is_dir() else []:
        try:
            root = safe_fromstring(path.read_bytes())
        except (OSError, SyntaxError, DefusedXmlException):
            continue
        alert = {
            tag: _text(root, tag) for tag in ("identifier", "sent", "status", "msgType", "note")
        }
        alert |= {tag: _text(root, f"info/{tag}") for tag in ("event", "headline", "description")}
        alert["areaDesc"] = _text(root, "info/area/areaDesc")
        for parameter in root.iterfind(f"{{{CAP_NS}}}info/{{{CAP_NS}}}parameter"):
            alert[_text(parameter, "valueName")] = _text(parameter, "value")
        alerts.append(alert)
    return sorted(alerts, key=lambda a: a["sent"])


def _text(element: Any, path: str) -> str:
    found = element.find("/".join(f"{{{CAP_NS}}}{step}" for step in path.split("/")))
    return "" if found is None or found.text is None else str(found.text)
