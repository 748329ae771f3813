"""`warnlink feed`: simulated national systems feeding a running federation.

Each party's simulated tracker is played, in real time (`timeline`), into its node
through the node's real input ports (`senders`: UDL over HTTPS or NATS, or CoT), with a
source certificate of its own; afterwards each party's picture, applied-log and alerts
are read back (`readback`) and summarised against truth (`summary`), as `warnlink demo`
summarises its run. `run.run_feed` does it all; `options` holds what the command line
reads at start-up. The modules are imported one by one (the command line must not pull
in the feed's clients at start-up), so this package imports none of them.
"""

__all__ = ["options", "readback", "run", "senders", "summary", "timeline"]
