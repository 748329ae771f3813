"""Plain-text rendering of a demo's or a feed's summary, for people at a terminal."""

from __future__ import annotations

from typing import Any


def _seconds(value: float | None) -> str:
    """Seconds after launch, or never."""
    return "never" if value is None else f"L+{value:.0f} s"


def _mode(item: dict[str, Any]) -> str:
    """The data mode in brackets, unless the data is real (a real warning needs no mark)."""
    mode = item.get("data_mode")
    return "" if mode in (None, "REAL") else f" [{mode}]"


def _event_lines(event: dict[str, Any]) -> list[str]:
    lines = [
        f"  event {event['event_id']}{_mode(event)}: from {', '.join(event['originators'])}, "
        f"{event['track_reports']} track reports"
    ]
    for originator, seen in event["by_originator"].items():
        first_launch = _seconds(seen["first_launch_report_after_launch_s"])
        first_impact = _seconds(seen["first_impact_prediction_after_launch_s"])
        earlier = ", ".join(str(n) for n in seen["tracks"][:-1])
        after = f" (re-acquired after track {earlier})" if earlier else ""
        lines.append(
            f"    {originator} track {seen['track_number']}{after}: "
            f"{seen['track_reports']} track reports, first launch report {first_launch}, "
            f"first IPP {first_impact}, {seen['status']}"
        )
    ipp = event.get("impact_prediction")
    if ipp:
        ellipse = f"{ipp['semi_major_km']} x {ipp['semi_minor_km']} km"
        lines.append(
            f"    predicted impact {ipp['lat']:.3f}N {ipp['lon']:.3f}E at {ipp['time']} "
            f"(95% ellipse {ellipse}, latest by {ipp['by']})"
        )
    if "impact_error_km" in event:
        truth = event["true_impact"]
        lines.append(
            f"    true impact      {truth['lat']:.3f}N {truth['lon']:.3f}E "
            f"at {truth['time']}: error {event['impact_error_km']} km, "
            f"{event['impact_time_error_s']} s"
        )
    return lines


def _alert_lines(alerts: list[dict[str, Any]]) -> list[str]:
    if not alerts:
        return ["  alerts: none"]
    return [
        f"  alert{_mode(a)} {a['msg_type']} ({a['reason']}) at epoch+{a['sent_s']:.0f} s: "
        f"{a['kind']} of {a['event']} over {a['area']}, p={a['probability']:.2f}, "
        f"lead time {a['lead_time_s']:.0f} s"
        for a in alerts
    ]


def format_summary(summary: dict[str, Any]) -> str:
    """The demo summary as readable text (the same facts as the JSON)."""
    lines = [
        f"warnlink demo: scenario {summary['scenario']!r} through federation "
        f"{summary['federation']!r}, epoch {summary['epoch']}",
        "",
    ]
    for party, info in summary["parties"].items():
        received = ", ".join(f"{q} {n}" for q, n in info["received_from"].items())
        heartbeats = ", ".join(info["heartbeats_from"]) or "nobody"
        lines.append(
            f"{party} ({info['name']}): reports received from {received}; "
            f"heartbeats from {heartbeats}"
        )
        if info["rejected"]:
            lines.append(
                "  rejected: " + ", ".join(f"{k} {v}" for k, v in info["rejected"].items())
            )
        for event in info["events"]:
            lines.extend(_event_lines(event))
        lines.extend(_alert_lines(info["alerts"]))
        lines.append("")
    relay = summary["relay"]
    lines.append(
        f"relay: forwarded {relay['forwarded']}, redacted {relay['redacted']}, "
        f"refused {relay['refused']}, rejected {relay['rejected']}"
    )
    for party, audit in relay.get("audit", {}).items():
        state = "intact" if audit["chain_ok"] else "BROKEN"
        witnesses = ", ".join(f"{p} ({n})" for p, n in audit.get("witnessed", {}).items())
        lines.append(
            f"  audit log at {party}: {audit['entries']} entries, chain {state},"
            f" {audit['signed_heads']} signed heads verified,"
            f" heads witnessed by {witnesses or 'nobody'}"
        )
    lines.append(
        f"leaks: {summary['leaks']} (every one of {summary['deliveries_checked']} deliveries "
        "checked against its originator's label)"
    )
    lines.extend(f"  LEAK {detail}" for detail in summary["leak_details"])
    return "\n".join(lines)


def format_feed(summary: dict[str, Any]) -> str:
    """A feed's summary (`feed.summary.summarise_feed`) as readable text."""
    lines = [
        f"warnlink feed: scenario {summary['scenario']!r} into federation "
        f"{summary['federation']!r} over {summary['via']}, epoch {summary['epoch']}, "
        f"played to epoch+{summary['played_until_s']:.0f} s",
        "",
    ]
    for party, info in summary["parties"].items():
        received = ", ".join(f"{q} {n}" for q, n in info["received_from"].items()) or "nothing"
        heartbeats = ", ".join(info["heartbeats_from"]) or "nobody"
        sent = info["sent"]
        taken = (
            "no acknowledgement on CoT"
            if summary["via"] == "cot"
            else f"accepted {sent.get('accepted', 0)}, refused "
            f"{sum(sent.get('refused', {}).values())}"
        )
        lines.append(
            f"{party} ({info['name']}): sent {sent.get('records', 0)} records ({taken}, "
            f"failed {sent.get('failed', 0)}); reports received from {received}; "
            f"heartbeats from {heartbeats}"
        )
        for event in info["events"]:
            lines.extend(_event_lines(event))
        lines.extend(_alert_lines(info["alerts"]))
        lines.append("")
    lines.append(
        f"leaks: {summary['leaks']} (every one of {summary['deliveries_checked']} reports "
        "applied from another party checked against its originator's label; "
        f"{summary['heartbeats_not_checked']} heartbeats not checked)"
    )
    lines.extend(f"  LEAK {detail}" for detail in summary["leak_details"])
    if not summary["complete"]:
        lines.append("incomplete: a party holds no event with a launch and an impact prediction")
    return "\n".join(lines)
