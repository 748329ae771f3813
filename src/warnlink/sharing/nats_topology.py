"""A NATS deployment drawn from the federation: one server per party, leaf links, permissions.

Each party runs its own `nats-server` with its own JetStream domain (named after the
party) and one account (also named after the party). Its node connects with the
party's user, whose permissions allow exactly:

- publishing to the subjects the party sends on (`grants`), and to the JetStream API
  calls and acks of its own inbox stream ``WL_<PARTY>``;
- subscribing to its own reply inboxes ``_INBOX_<PARTY>.>``, where deliveries of its
  stream arrive as answers to its pull requests, and to the requests of its national
  sources, ``ingest.missiletrack.<source>`` (answered once each: ``allow_responses``).
  No other wildcard, no ``$JS.API.>``, no ``$SYS.>``, nothing of another party.

With certificates (`tls_blocks`), the server maps each client's certificate to its
user (``verify_and_map``): the node and the relay are the users their certificates
name (`client_user`), with no password; a national source is the user its own
certificate names, in an account of its own (`warnlink.sources.nats_accounts`).
Without certificates, the node and the relay share the party's user and password.

Each bilateral link is a leaf-node connection between the two parties' servers. The
hub side is the party that hosts a relay (else the first code in sort order); the
other side connects to it as a leaf with a user of the hub's account, which only leaf
connections may use, and whose permissions are the link's filter (seen from the
leaf: what it may publish flows to the hub, what it may subscribe to flows to it):

- publish: what the spoke sends the hub's party (``wl.node.<HUB>.from.<SPOKE>``, and
  ``wl.relay.<HUB>.from.<SPOKE>`` if the hub hosts a relay), and answers to the hub's
  requests (``_INBOX_<HUB>.>``: the JetStream acks of the spoke's stream);
- subscribe: what the hub's party sends the spoke (``wl.node.<SPOKE>.from.<HUB>``) and
  answers to the spoke's requests (``_INBOX_<SPOKE>.>``).

So a message crosses exactly one link, from its sender's server to its recipient's
server, where the recipient's stream stores it; the stream's acknowledgement travels
back the same way. Two parties without a link have no path to each other: whatever
passes between them goes through a relay, which decides what to release.

Nothing here depends on the number of parties: every name comes from the federation.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from warnlink.errors import TransportError
from warnlink.security.certs import PartyCerts, client_ssl_context, client_user, party_certs
from warnlink.sharing.federation import Federation, Link
from warnlink.sharing.subjects import node_inbox, node_inbox_filter, relay_inbox, relay_inbox_filter
from warnlink.transport.nats import NatsBus, StreamSpec
from warnlink.transport.nats_server import (
    ConfigTree,
    NatsServer,
    free_port,
    jetstream_block,
    monitor_json,
    write_config,
)
from warnlink.transport.private import private_file
from warnlink.transport.subjects import subject_matches

LINK_TIMEOUT_S: Final = 20.0
ACCESS_FILE: Final = "access.json"
TLS_TIMEOUT_S: Final = 2.0
#: The subject a national source sends its MissileTrack batches to, on its party's server.
INGEST_SUBJECT: Final = "ingest.missiletrack"


def ingest_subject(source: str) -> str:
    """The subject a source's requests reach its party's node on (its account's import)."""
    return f"{INGEST_SUBJECT}.{source}"


def server_config_path(folder: Path, party: str) -> Path:
    """Where `Topology.write` puts `party`'s server configuration."""
    return folder / party / "nats.conf"


def server_pid_path(folder: Path, party: str) -> Path:
    """Where `party`'s running server writes its process id (``pid_file``)."""
    return folder / party / "nats.pid"


def stream_name(party: str) -> str:
    """The JetStream stream holding `party`'s inboxes, on its own server."""
    return f"WL_{party}"


def inbox_prefix(party: str) -> str:
    """The reply-subject prefix of `party`'s connections."""
    return f"_INBOX_{party}"


@dataclass(frozen=True, slots=True)
class Grants:
    """What one party's node sends on and consumes, as NATS subjects and filters."""

    publish: tuple[str, ...]
    consume: tuple[str, ...]


def grants(federation: Federation, party: str) -> Grants:
    """The subjects `party` publishes to and the filters its stream captures.

    It sends heartbeats and reports to each link peer's node inbox, its labelled
    messages to each relay hosted by a link peer, and, when it hosts a relay, the
    relay's deliveries to its own node. It consumes its node inbox, and its relay
    inbox when it hosts a relay.
    """
    publish = {node_inbox(peer, party) for peer in federation.peers(party)}
    publish |= {relay_inbox(h, party) for h in federation.relays & set(federation.peers(party))}
    consume = [node_inbox_filter(party)]
    if party in federation.relays:
        publish.add(node_inbox(party, party))
        consume.append(relay_inbox_filter(party))
    return Grants(publish=tuple(sorted(publish)), consume=tuple(consume))


def hub_of(federation: Federation, link: Link) -> str:
    """The side of `link` whose server accepts the leaf connection."""
    hosts = [p for p in link.parties if p in federation.relays]
    return hosts[0] if len(hosts) == 1 else min(link.parties)


def crossing(federation: Federation, sender: str, recipient: str) -> tuple[str, ...]:
    """The subjects `sender` may put across its link to `recipient`'s server."""
    return tuple(s for s in grants(federation, sender).publish if s.split(".")[2] == recipient)


@dataclass(frozen=True, slots=True)
class PartyAccess:
    """What one party's node needs to reach its own server.

    Attributes:
        party: the party's code.
        url: its server's client URL.
        user, password: its node's credentials; None with certificates, which are then
            the credentials (the server maps each to its user).
        certs: the folder made by `init_certs`, when the server requires mutual TLS.
    """

    party: str
    url: str
    user: str | None
    password: str | None
    certs: Path | None = None

    async def connect(
        self, federation: Federation, *, role: str = "node", ack_wait_s: float = 30.0
    ) -> NatsBus:
        """The party's bus: its inbox stream ensured, its consumers on that stream.

        Args:
            federation: the federation, for the stream's subjects.
            role: ``node`` or ``relay``: whose client certificate is presented.
            ack_wait_s: how long the server waits for an ack before redelivering.
                After a crash the unacked messages come back first (the inbox keeps
                its order, `NatsSubscription`) once this wait is over.

        Raises:
            ConfigError: the role's certificate cannot be loaded.
            TransportError: the connection or the stream set-up failed.
        """
        spec = StreamSpec(
            name=stream_name(self.party), subjects=grants(federation, self.party).consume
        )
        tls = None if self.certs is None else client_ssl_context(self.certs, self.party, role)
        return await NatsBus.connect(
            self.url,
            stream=spec.name,
            ensure=spec,
            user=self.user,
            password=self.password,
            inbox_prefix=inbox_prefix(self.party),
            ack_wait_s=ack_wait_s,
            name=f"warnlink-{self.party}-{role}",
            tls=tls,
        )


@dataclass(frozen=True, slots=True)
class ServerPlan:
    """One party's server: its ports and its configuration."""

    party: str
    port: int
    monitor_port: int
    leaf_port: int | None
    config: ConfigTree


@dataclass
class Topology:
    """Every party's server and credentials for one federation, ready to write and start.

    Build it with `plan_topology`.
    """

    federation: Federation
    folder: Path
    servers: dict[str, ServerPlan]
    access: dict[str, PartyAccess]
    leaf_users: dict[tuple[str, str], tuple[str, str]]  # (hub, spoke) -> (user, password)
    _running: list[NatsServer] = field(default_factory=list)

    def write(self) -> None:
        """Write each server's configuration and the parties' access file (owner-only)."""
        for party, plan in self.servers.items():
            write_config(server_config_path(self.folder, party), plan.config)
        access = {
            p: {
                "url": a.url,
                "user": a.user,
                "password": a.password,
                "certs": None if a.certs is None else str(a.certs),
            }
            for p, a in self.access.items()
        }
        path = self.folder / ACCESS_FILE
        private_file(path).write_text(
            json.dumps(access, indent=2, sort_keys=True), encoding="utf-8"
        )
        path.chmod(0o600)

    def start(self, timeout_s: float = LINK_TIMEOUT_S) -> dict[str, NatsServer]:
        """Start every server (hubs first) and wait until every leaf link is up.

        Raises:
            TransportError: a server did not start, or a link did not come up in time.
        """
        order = sorted(self.servers.values(), key=lambda s: (s.leaf_port is None, s.party))
        started: dict[str, NatsServer] = {}
        try:
            for plan in order:
                server = NatsServer(
                    server_config_path(self.folder, plan.party),
                    port=plan.port,
                    monitor_port=plan.monitor_port,
                )
                started[plan.party] = server.start()
                self._running.append(server)
            self.wait_linked(started, timeout_s)
        except BaseException:
            self.stop()
            raise
        return started

    def wait_linked(self, servers: dict[str, NatsServer], timeout_s: float) -> None:
        """Wait until each hub counts one leaf connection per link it accepts."""
        expected = dict.fromkeys(servers, 0)
        for link in self.federation.links:
            expected[hub_of(self.federation, link)] += 1
        deadline = time.monotonic() + timeout_s
        for party, count in expected.items():
            while _leaf_count(servers[party]) < count:
                if time.monotonic() > deadline:
                    raise TransportError(
                        f"{party}'s server has {_leaf_count(servers[party])} of {count} "
                        f"leaf links after {timeout_s} s"
                    )
                time.sleep(0.02)

    def wait_for_interest(
        self, servers: dict[str, NatsServer], timeout_s: float = LINK_TIMEOUT_S
    ) -> None:
        """Wait until every link carries the interest of the streams on both sides.

        A stream's capture of its subjects reaches the peer's server a moment after the
        stream is created; a publish before that finds no responder.
        """
        deadline = time.monotonic() + timeout_s
        for link in self.federation.links:
            for here, there in (link.parties, tuple(reversed(link.parties))):
                self.wait_for_interest_of(servers, here, there, deadline - time.monotonic())

    def wait_for_interest_of(
        self,
        servers: dict[str, NatsServer],
        here: str,
        there: str,
        timeout_s: float = LINK_TIMEOUT_S,
    ) -> None:
        """Wait until `here`'s server knows of `there`'s stream across their link."""
        sent = crossing(self.federation, here, there)
        wanted = {
            f
            for f in grants(self.federation, there).consume
            if any(subject_matches(f, s) for s in sent)
        }
        deadline = time.monotonic() + timeout_s
        while not wanted <= _leaf_interest(servers[here]):
            if time.monotonic() > deadline:
                raise TransportError(
                    f"{here}'s server has no interest in {sorted(wanted)} from {there} "
                    f"after {timeout_s} s"
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop every server this topology started."""
        while self._running:
            self._running.pop().stop()


def plan_topology(
    federation: Federation,
    folder: Path,
    *,
    certs: Path | None = None,
    port: Callable[[], int] = free_port,
    secret: Callable[[], str] = lambda: secrets.token_urlsafe(24),
    max_payload: int = 1 << 20,
) -> Topology:
    """Draw every party's server, account, users and leaf links from `federation`.

    Args:
        federation: who exists and who is linked to whom.
        folder: where `Topology.write` puts configurations, stores and credentials.
        certs: a folder made by `init_certs`: every client and leaf connection then
            uses mutual TLS (`tls_blocks`); plain connections otherwise.
        port: gives a free TCP port (injected so tests can choose).
        secret: gives a fresh password.
        max_payload: the largest message the servers accept.
    """
    parties = sorted(federation.parties)
    hubs = {hub_of(federation, link) for link in federation.links}
    ports = {p: (port(), port(), port() if p in hubs else None) for p in parties}
    access = {
        p: PartyAccess(p, f"nats://127.0.0.1:{ports[p][0]}", p, secret())
        if certs is None
        else PartyAccess(p, f"nats://127.0.0.1:{ports[p][0]}", None, None, certs)
        for p in parties
    }
    leaf_users: dict[tuple[str, str], tuple[str, str]] = {}
    for link in federation.links:
        hub = hub_of(federation, link)
        spoke = link.peer_of(hub)
        leaf_users[(hub, spoke)] = (f"leaf-{spoke}", secret())
    servers: dict[str, ServerPlan] = {}
    for party in parties:
        tls = None if certs is None else tls_blocks(party_certs(certs, party))
        client_port, monitor_port, leaf_port = ports[party]
        users = _party_users(federation, access[party])
        remotes: list[ConfigTree] = []
        for (hub, spoke), (user, password) in sorted(leaf_users.items()):
            if hub == party:
                users.append(_leaf_user(federation, hub, spoke, user, password))
            elif spoke == party:
                hub_leaf_port = ports[hub][2]
                remote: ConfigTree = {
                    "url": f"nats-leaf://{user}:{password}@127.0.0.1:{hub_leaf_port}",
                    "account": party,
                }
                if tls is not None:
                    remote["tls"] = tls.leaf_remote
                remotes.append(remote)
        leafnodes: ConfigTree = {}
        if leaf_port is not None:
            leafnodes |= {"host": "127.0.0.1", "port": leaf_port}
            if tls is not None:
                leafnodes["tls"] = tls.leaf_listener
        if remotes:
            leafnodes["remotes"] = remotes
        config: ConfigTree = {
            "server_name": party,
            "host": "127.0.0.1",
            "port": client_port,
            "http": f"127.0.0.1:{monitor_port}",
            "pid_file": str(server_pid_path(folder, party)),
            "max_payload": max_payload,
            "jetstream": jetstream_block(folder / party / "jetstream", domain=party),
            "accounts": {party: {"jetstream": "enabled", "users": users}},
        }
        if tls is not None:
            config["tls"] = tls.clients
        if leafnodes:
            config["leafnodes"] = leafnodes
        servers[party] = ServerPlan(party, client_port, monitor_port, leaf_port, config)
    return Topology(federation, folder, servers, access, leaf_users)


@dataclass(frozen=True, slots=True)
class TlsBlocks:
    """A server's ``tls`` blocks: for client connections, the leaf listener, leaf remotes."""

    clients: ConfigTree
    leaf_listener: ConfigTree
    leaf_remote: ConfigTree


def tls_blocks(certs: PartyCerts) -> TlsBlocks:
    """Mutual TLS for one party's server, from its files (`warnlink.security.certs`).

    Clients present a certificate of the party's own CA (``ca.pem``), which names
    their user (``verify_and_map``); leaf connections, which cross parties, one of the
    party's or a link peer's CA (``trust.pem``). Both ends of a leaf link verify the
    other.
    """
    leaf = {
        "cert_file": str(certs.cert("leaf")),
        "key_file": str(certs.key("leaf")),
        "ca_file": str(certs.trust),
        "timeout": TLS_TIMEOUT_S,
    }
    return TlsBlocks(
        clients={
            "cert_file": str(certs.cert("server")),
            "key_file": str(certs.key("server")),
            "ca_file": str(certs.ca),
            "verify": True,
            "verify_and_map": True,
            "timeout": TLS_TIMEOUT_S,
        },
        leaf_listener=leaf | {"verify": True},
        leaf_remote=leaf,
    )


def _allow(publish: Iterable[str], subscribe: Iterable[str]) -> ConfigTree:
    return {
        "publish": {"allow": sorted(set(publish))},
        "subscribe": {"allow": sorted(set(subscribe))},
    }


def _party_users(federation: Federation, access: PartyAccess) -> list[ConfigTree]:
    """The node's user and, with certificates, the relay's (the same rights but ingest)."""
    party = access.party
    if access.certs is None:
        assert access.user is not None
        assert access.password is not None
        node = _party_permissions(federation, party, ingest=True)
        return [{"user": access.user, "password": access.password, "permissions": node}]
    return [
        {
            "user": client_user(party, role),
            "permissions": _party_permissions(federation, party, ingest=role == "node"),
        }
        for role in ("node", "relay")
    ]


def _party_permissions(federation: Federation, party: str, *, ingest: bool) -> ConfigTree:
    """Its stream's API calls, its grants and its inboxes; with `ingest`, its sources'
    requests too, each answered once."""
    stream = stream_name(party)
    api = "$JS.API"
    js_calls = [
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.CREATE.{stream}",
        f"{api}.CONSUMER.INFO.{stream}.*",
        f"{api}.CONSUMER.CREATE.{stream}.*",
        f"{api}.CONSUMER.MSG.NEXT.{stream}.*",
        f"$JS.ACK.{stream}.>",
    ]
    inbox = f"{inbox_prefix(party)}.>"
    subscribe = [inbox, f"{INGEST_SUBJECT}.>"] if ingest else [inbox]
    allowed = _allow([*grants(federation, party).publish, *js_calls], subscribe)
    return allowed | {"allow_responses": True} if ingest else allowed


def _leaf_user(
    federation: Federation, hub: str, spoke: str, user: str, password: str
) -> ConfigTree:
    return {
        "user": user,
        "password": password,
        "allowed_connection_types": ["LEAFNODE"],
        "permissions": _allow(
            [*crossing(federation, spoke, hub), f"{inbox_prefix(hub)}.>"],
            [*crossing(federation, hub, spoke), f"{inbox_prefix(spoke)}.>"],
        ),
    }


def _leaf_count(server: NatsServer) -> int:
    return len(monitor_json(server.monitor_port, "/leafz").get("leafs") or [])


def _leaf_interest(server: NatsServer) -> set[str]:
    """The subjects the peers across this server's leaf links have shown interest in."""
    subjects: set[str] = set()
    for leaf in monitor_json(server.monitor_port, "/leafz?subs=1").get("leafs") or []:
        subjects.update(leaf.get("subscriptions_list") or [])
    return subjects
