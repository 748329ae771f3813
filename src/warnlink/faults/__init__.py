"""The fault suite: warnlink against killed relays, cut links, duplicate storms and
skewed clocks, on real processes; each case prints what was sent, delivered, lost,
applied twice, applied out of order, leaked, and how long the flow took to resume.

`run_faults` runs the cases (`cases.CASES`; case 7, the soak, is `soak.soak`) at quick
or full size (`rig.QUICK`, `rig.FULL`); `table` renders the results, the soak's
windows included. ``warnlink faults`` and ``make faults`` are
its faces; docs/reliability.md states the guarantees and the figures.
"""

from warnlink.faults.cases import CASES, NOT_DONE
from warnlink.faults.measure import CaseResult, Ledger
from warnlink.faults.report import table
from warnlink.faults.rig import FULL, QUICK, Rig, Sizes
from warnlink.faults.run import run_faults

__all__ = [
    "CASES",
    "FULL",
    "NOT_DONE",
    "QUICK",
    "CaseResult",
    "Ledger",
    "Rig",
    "Sizes",
    "run_faults",
    "table",
]
