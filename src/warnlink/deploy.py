"""A federation running on NATS: every party's server started, and a bus per party.

`NatsFederation.start` draws the servers from the federation
(`sharing.nats_topology`), writes their configurations and credentials into a data
folder, starts them, and connects each party's bus with that party's own
credentials. `close` closes the buses and stops the servers. The demo uses it for
``--transport nats``.
"""

from __future__ import annotations

from pathlib import Path

from warnlink.sharing.federation import Federation
from warnlink.sharing.nats_topology import Topology, plan_topology
from warnlink.transport.nats import NatsBus, wait_idle
from warnlink.transport.nats_server import NatsServer


class NatsFederation:
    """Running servers and one connected bus per party; build it with `start`."""

    def __init__(
        self, topology: Topology, servers: dict[str, NatsServer], buses: dict[str, NatsBus]
    ) -> None:
        self.topology = topology
        self.servers = servers
        self.buses = buses

    @classmethod
    async def start(cls, federation: Federation, folder: Path) -> NatsFederation:
        """Write the configurations into `folder`, start the servers, connect every party.

        Raises:
            TransportError: a server did not start, a link did not come up, or a
                party could not connect.
        """
        topology = plan_topology(federation, folder)
        topology.write()
        servers = topology.start()  # blocks briefly: from the main thread, see NatsServer
        buses: dict[str, NatsBus] = {}
        try:
            for party, access in sorted(topology.access.items()):
                buses[party] = await access.connect(federation)
            topology.wait_for_interest(servers)
        except BaseException:
            for bus in buses.values():
                await bus.close()
            topology.stop()
            raise
        return cls(topology, servers, buses)

    def health(self) -> dict[str, bool]:
        """Each party's server: healthy or not."""
        return {party: server.healthy() for party, server in sorted(self.servers.items())}

    async def wait_idle(self) -> None:
        """Return once every party's open subscriptions have taken and acked everything."""
        await wait_idle(list(self.buses.values()))

    async def close(self) -> None:
        """Close every bus, then stop every server."""
        for bus in self.buses.values():
            await bus.close()
        self.topology.stop()
