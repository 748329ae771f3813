"""`warnlink up` says when its links come up, and when one goes down (a server stopped)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.nats, pytest.mark.slow]

PATIENCE_S = 90.0  # a guard against a hang, never expected to elapse


def _wait_for(path: Path, text: str, deadline: float) -> None:
    while text not in (path.read_text(encoding="utf-8") if path.exists() else ""):
        assert time.monotonic() < deadline, f"never saw {text!r} in {path}"
        time.sleep(0.2)


def test_up_prints_each_link_coming_up_and_a_link_going_down(tmp_path: Path) -> None:
    err = tmp_path / "up.err"
    with err.open("w") as stderr:
        command = [sys.executable, "-m", "warnlink", "up", "--data", str(tmp_path / "data")]
        up = subprocess.Popen(
            [*command, "--json", "--every", "0.5"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert up.stdout is not None
        deadline = time.monotonic() + PATIENCE_S
        for line in (
            "warnlink JPN node: link JPN-USA up",
            "warnlink ROK node: link ROK-USA up",
            "warnlink USA node: link USA-JPN up",
            "warnlink USA node: link USA-ROK up",
        ):
            _wait_for(err, line, deadline)
        health = json.loads(up.stdout.readline())
        # ROK's server stops: USA hears no more heartbeats from ROK, and says so.
        os.kill(health["servers"]["ROK"]["pid"], signal.SIGKILL)
        _wait_for(err, "warnlink USA node: link USA-ROK late (no heartbeat for", deadline)
        _wait_for(err, "warnlink USA node: link USA-ROK down (no heartbeat for", deadline)
        assert "link USA-JPN down" not in err.read_text(encoding="utf-8")
        up.send_signal(signal.SIGINT)
        assert up.wait(PATIENCE_S) == 0
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
