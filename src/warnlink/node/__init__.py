"""One party's node: reporters, gateway, picture, alerting, and its relay if it hosts one.

`Node` (core.py) is the pipeline; `stores` says where its durable state lives; `recovery`
replays its applied-log and recovers damaged entries; `consume` is the inbox loop the node
and a relay share.
"""

from warnlink.node.consume import RETRY_S, Rejects, consume, serve_relay, watch_consumers
from warnlink.node.core import Node
from warnlink.node.stores import build_relay, close_relay, queue_store, seen_store, sent_archive

__all__ = [
    "RETRY_S",
    "Node",
    "Rejects",
    "build_relay",
    "close_relay",
    "consume",
    "queue_store",
    "seen_store",
    "sent_archive",
    "serve_relay",
    "watch_consumers",
]
