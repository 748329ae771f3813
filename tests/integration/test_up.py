"""`warnlink up`: servers, nodes and the relay as OS processes, healthy, then all stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PATIENCE_S = 60.0  # a guard against a hang, never expected to elapse


def _stream_messages(monitor_port: int) -> dict[str, int]:
    url = f"http://127.0.0.1:{monitor_port}/jsz?accounts=true&streams=true"
    with urllib.request.urlopen(url, timeout=2.0) as response:
        jsz = json.load(response)
    return {
        stream["name"]: stream["state"]["messages"]
        for account in jsz.get("account_details") or []
        for stream in account.get("stream_detail") or []
    }


def _monitor_port(folder: Path, party: str) -> int:
    config = json.loads((folder / party / "nats.conf").read_text(encoding="utf-8"))
    return int(config["http"].rsplit(":", 1)[1])


def test_up_starts_everything_shows_health_and_stops_it_all_on_ctrl_c(tmp_path: Path) -> None:
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "warnlink",
            "up",
            "--data",
            str(tmp_path),
            "--json",
            "--every",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert up.stdout is not None
        deadline = time.monotonic() + PATIENCE_S
        health: dict[str, Any] = {}
        while not health.get("all_up"):
            assert time.monotonic() < deadline, "never all up"
            line = up.stdout.readline()
            assert line, f"up ended: {up.stderr.read() if up.stderr else ''}"
            health = json.loads(line)
        assert set(health["servers"]) == {"ROK", "JPN", "USA"}
        assert set(health["processes"]) == {"node-ROK", "node-JPN", "node-USA", "relay-USA"}

        # The node processes talk over the links: heartbeats land in every party's stream.
        while not all(
            _stream_messages(_monitor_port(tmp_path, p)).get(f"WL_{p}", 0) > 0
            for p in ("ROK", "JPN", "USA")
        ):
            assert time.monotonic() < deadline, "no heartbeats across the links"
            up.stdout.readline()

        pids = [e["pid"] for e in (*health["servers"].values(), *health["processes"].values())]
        up.send_signal(signal.SIGINT)
        assert up.wait(PATIENCE_S) == 0
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if up.poll() is None:
            up.terminate()
            up.wait(PATIENCE_S)
