"""Warnings out: threatened areas, overflight, alert lifecycle, CAP 1.2.

`monitor.AlertMonitor` runs one party's alerting over its picture; the rules are pure
(`assess`, `lifecycle`) and `cap.to_cap` renders a message as CAP 1.2 XML.
"""

from warnlink.alerting.assess import Threat, ThreatKind
from warnlink.alerting.cap import to_cap
from warnlink.alerting.lifecycle import Alert, MsgType, Reason
from warnlink.alerting.monitor import AlertMonitor

__all__ = ["Alert", "AlertMonitor", "MsgType", "Reason", "Threat", "ThreatKind", "to_cap"]
