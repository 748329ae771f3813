"""Real nats-server processes for the integration tests, on free ports with temporary stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from warnlink.transport.nats_server import NatsServer, start_standalone


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One JetStream server for the session; tests keep apart by stream and subject prefix."""
    server = start_standalone(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture
def server_folder(tmp_path: Path) -> Path:
    return tmp_path
