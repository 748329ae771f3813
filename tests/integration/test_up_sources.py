"""`warnlink sources add|revoke` beside a running `warnlink up`: the party's server follows.

`up` runs as a process; the source commands run as processes of their own, from
another folder with a relative ``--data`` path. A source added while `up` runs
connects to its party's server with its certificate; revoked, its connection is
closed and a new one refused, without a restart.
"""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from warnlink.security.certs import CERTS_DIR, party_certs

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PATIENCE_S = 60.0  # a guard against a hang, never expected to elapse


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "warnlink", "up", "--data", str(data), "--json", "--every", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + PATIENCE_S
        health: dict[str, Any] = {}
        while not health.get("all_up"):
            assert time.monotonic() < deadline, "never all up"
            line = process.stdout.readline()
            assert line, f"up ended: {process.stderr.read() if process.stderr else ''}"
            health = json.loads(line)
        yield data
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(PATIENCE_S)


def _sources(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warnlink", "sources", *argv, "--data", data.name],
        cwd=data.parent,  # a relative data folder, as a person would type it
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=False,
    )


async def test_a_source_added_and_revoked_while_up_runs(up: Path) -> None:
    added = await asyncio.to_thread(_sources, up, "add", "ROK", "c2-radar", "--json")
    assert added.returncode == 0, added.stderr
    paths = json.loads(added.stdout)
    cert, key = (up.parent / paths["cert"], up.parent / paths["key"])
    url = json.loads((up / "access.json").read_text())["ROK"]["url"]
    tls = ssl.create_default_context(cafile=party_certs(up / CERTS_DIR, "ROK").ca)
    tls.load_cert_chain(cert, key)
    closed = asyncio.Event()

    async def on_closed() -> None:
        closed.set()

    source = await nats.connect(
        url, tls=tls, allow_reconnect=False, connect_timeout=PATIENCE_S, closed_cb=on_closed
    )
    await source.flush()
    assert source.is_connected
    revoked = await asyncio.to_thread(_sources, up, "revoke", "ROK", "c2-radar")
    assert revoked.returncode == 0, revoked.stderr
    assert "the party's server has reloaded" in revoked.stdout
    async with asyncio.timeout(PATIENCE_S):
        await closed.wait()
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(url, tls=tls, allow_reconnect=False, connect_timeout=PATIENCE_S)
