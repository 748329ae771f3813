"""Subject names: where messages travel between parties.

- ``wl.relay.<RELAY>.from.<SENDER>``: an originator's labelled messages to a relay
  hosted by its link peer.
- ``wl.node.<RECIPIENT>.from.<SENDER>``: deliveries to a party's node, from a link
  peer (its own reports and heartbeats) or from a relay (released products).

The sender is part of the subject so that a transport can enforce who may publish
where (NATS permissions), and a receiver can check the envelope against it.
"""

from __future__ import annotations

from warnlink.errors import LabelError


def relay_inbox(relay: str, sender: str) -> str:
    return f"wl.relay.{relay}.from.{sender}"


def relay_inbox_filter(relay: str) -> str:
    return f"wl.relay.{relay}.from.*"


def node_inbox(recipient: str, sender: str) -> str:
    return f"wl.node.{recipient}.from.{sender}"


def node_inbox_filter(recipient: str) -> str:
    return f"wl.node.{recipient}.from.*"


ALL_NODE_INBOXES = "wl.node.*.from.*"


def parse_inbox(subject: str) -> tuple[str, str]:
    """(owner, sender) of a relay or node inbox subject."""
    tokens = subject.split(".")
    if len(tokens) != 5 or tokens[0] != "wl" or tokens[1] not in {"relay", "node"}:
        raise LabelError(f"not a warnlink inbox subject: {subject!r}", rule="bad_subject")
    return tokens[2], tokens[4]
