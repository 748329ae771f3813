"""`warnlink feed`: simulated national systems feeding a running federation.

Each party's simulated tracker is played, in real time, into its node through the
node's real input ports (UDL over HTTPS or NATS, or CoT), with a source certificate of
its own; afterwards each party's picture, applied-log and alerts are read back and
summarised against truth, as `warnlink demo` summarises its run (`run.run_feed`).
"""

from warnlink.feed.run import READY_WAIT_S, run_feed, source_name
from warnlink.feed.senders import VIAS, SendStats
from warnlink.feed.summary import PartyReadback, summarise_feed
from warnlink.feed.timeline import Timeline, place

__all__ = [
    "READY_WAIT_S",
    "VIAS",
    "PartyReadback",
    "SendStats",
    "Timeline",
    "place",
    "run_feed",
    "source_name",
    "summarise_feed",
]
