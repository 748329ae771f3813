"""What `warnlink feed` may be asked, and its defaults: read by the command line at
start-up, so this module imports nothing."""

from __future__ import annotations

from typing import Final

#: The ports a feed may use: UDL over HTTPS, UDL over NATS, CoT.
VIAS: Final = ("http", "nats", "cot")
#: Seconds to wait for a running `up`'s ``endpoints.json``.
READY_WAIT_S: Final = 120.0
#: Seconds played after the last impact: the demo's (`demo.TAIL_S`), so that both
#: summaries are read as long after it.
TAIL_S: Final = 90.0
