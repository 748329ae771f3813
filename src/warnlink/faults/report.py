"""The fault table, as text (what ``make faults`` prints) and as JSON."""

from __future__ import annotations

from typing import Any

from warnlink.faults.cases import NOT_DONE
from warnlink.faults.measure import RESUME_TARGET_S, CaseResult

HEADER = (
    "| case | fault | sent | due | delivered | lost | dup applied | order viol. "
    "| release viol. | resume s | refused | targets |"
)


def row(result: CaseResult) -> str:
    """One case as a Markdown table row; missed targets are named."""
    missed = [name for name, ok in result.met.items() if not ok]
    verdict = "met" if not missed else "MISSED: " + ", ".join(missed)
    resume = "-" if result.resume_s is None else f"{result.resume_s:.2f}"
    if not result.outage:
        resume = "n/a"
    return (
        f"| {result.case} | {result.name} | {result.sent} | {result.due} | {result.delivered} "
        f"| {result.lost} | {result.duplicates} | {result.order_violations} "
        f"| {result.release_violations} | {resume} | {result.refused} | {verdict} |"
    )


DETAILS_HEADER = (
    "| case | catch-up s | relay max gap s | outbox failed / resent | duplicates dropped "
    "| refused at edges | run s |"
)


def details(result: CaseResult) -> str:
    """What else a case saw: catch-up, the relay's longest pause, the outboxes at work,
    redeliveries dropped by the nodes, refusals at the nodes and the relay."""
    n = result.notes
    refused = int(n.get("rejected.replay", 0)) + int(n.get("relay.rejected", 0))
    return (
        f"| {result.case} | {n.get('catch_up_s', '-')} | {n.get('relay_max_gap_s', '-')} "
        f"| {n.get('outbox.failed', 0)} / {n.get('outbox.resent', 0)} "
        f"| {n.get('duplicate', 0)} | {refused} | {result.duration_s:.0f} |"
    )


def table(results: list[CaseResult], *, with_not_done: bool = True) -> str:
    """The results as a Markdown table, the cases not done listed below it."""
    lines = [HEADER, _rule()]
    lines += [row(r) for r in results]
    lines += ["", DETAILS_HEADER, "|" + " --- |" * (DETAILS_HEADER.count("|") - 1)]
    lines += [details(r) for r in results]
    lines.append("")
    lines.append(
        f"Targets: 0 lost, 0 duplicates applied, 0 order violations, 0 release violations, "
        f"resume under {RESUME_TARGET_S:g} s."
    )
    if with_not_done:
        lines += [f"Case {n}: {what}." for n, what in NOT_DONE.items()]
    return "\n".join(lines)


def _rule() -> str:
    return "|" + " --- |" * (HEADER.count("|") - 1)


def as_json(results: list[CaseResult]) -> list[dict[str, Any]]:
    """The results as JSON-ready dicts (the figures, the targets met, the notes)."""
    return [
        {
            "case": r.case,
            "name": r.name,
            "sent": r.sent,
            "due": r.due,
            "delivered": r.delivered,
            "lost": r.lost,
            "duplicates_applied": r.duplicates,
            "order_violations": r.order_violations,
            "release_violations": r.release_violations,
            "resume_s": r.resume_s,
            "refused": r.refused,
            "duration_s": round(r.duration_s, 1),
            "targets_met": r.met,
            "notes": r.notes,
        }
        for r in results
    ]
