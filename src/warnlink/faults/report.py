"""The fault table, as text (what ``make faults`` prints) and as JSON; the soak's
(case 7) windows, memory growth and latency drift below it."""

from __future__ import annotations

from typing import Any

from warnlink.faults.cases import NOT_DONE
from warnlink.faults.measure import RESUME_TARGET_S, CaseResult
from warnlink.faults.soak import SoakFigures, Window

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
    lines += [recovery_line(r) for r in results if "applied_log.damaged" in r.notes]
    for result in results:
        if result.soak is not None:
            lines += ["", soak_table(result.soak)]
    return "\n".join(lines)


def recovery_line(result: CaseResult) -> str:
    """What a damaged store (case 6) led to: detected, asked for, recovered, and how soon."""
    n = result.notes
    return (
        f"Case {result.case}: {n['applied_log.damaged']} damaged entries detected, "
        f"{n['recovered']} messages recovered "
        f"in {n.get('recovered_s', '-')} s from the restart; {n['recovery.requested']} requests, "
        f"{n['recovery.complete']} answered in full, {n['recovery.incomplete']} not; "
        f"{n['resend.messages']} messages sent again, {n['resend.held']} of them already held."
    )


def _md(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def soak_table(soak: SoakFigures) -> str:
    """The soak's windows (flow, then resources per process), its growth and drift."""
    recipients = sorted({r for w in soak.windows for r in w.latency_ms})
    held = sorted({k for w in soak.windows for k in w.held})
    flow = ["window", "phase", "end s", "offered/s", "sent/s", "applied/s", "backlog"]
    flow += [f"p50 / p99 ms {r}" for r in recipients] + held

    def flow_row(w: Window) -> list[str]:
        latency = [
            "-" if r not in w.latency_ms else "{:.0f} / {:.0f}".format(*w.latency_ms[r])
            for r in recipients
        ]
        return [
            str(w.index),
            w.phase,
            f"{w.end_s:.0f}",
            f"{w.offered_per_s:.0f}",
            f"{w.sent_per_s:.0f}",
            f"{w.applied_per_s:.0f}",
            str(w.backlog),
            *latency,
            *(str(w.held.get(k, "-")) for k in held),
        ]

    processes = list(dict.fromkeys(name for w in soak.windows for name in w.rss_mb))
    resources = ["window", *(f"{name} MB / CPU %" for name in processes)]

    def resource_row(w: Window) -> list[str]:
        cells = [
            "-"
            if name not in w.rss_mb
            else f"{w.rss_mb[name]:.0f} / "
            + (f"{w.cpu_pct[name]:.0f}" if name in w.cpu_pct else "-")
            for name in processes
        ]
        return [str(w.index), *cells]

    lines = [
        f"Soak (case 7): {soak.rate_per_s:g} reports/s offered for {soak.soak_s:g} s, "
        f"{soak.achieved_per_s:.1f}/s sent "
        f"({100 * soak.achieved_per_s / soak.rate_per_s:.0f} % of the rate).",
        "",
        *_md(flow, [flow_row(w) for w in soak.windows]),
        "",
        *_md(resources, [resource_row(w) for w in soak.windows]),
        "",
        "Memory growth, first to last soak window: "
        + "; ".join(
            f"{name} {g.mb:+.1f} MB ({g.mb_per_min:+.1f} MB/min)" for name, g in soak.growth.items()
        )
        + ".",
        "p99 drift, last soak window over first: "
        + "; ".join(f"{r} " + ("-" if d is None else f"{d:.2f}x") for r, d in soak.drift.items())
        + ".",
    ]
    return "\n".join(lines)


def soak_json(soak: SoakFigures) -> dict[str, Any]:
    """The soak's figures as a JSON-ready dict."""
    return {
        "rate_per_s": soak.rate_per_s,
        "soak_s": soak.soak_s,
        "achieved_per_s": round(soak.achieved_per_s, 1),
        "windows": [
            {
                "index": w.index,
                "phase": w.phase,
                "end_s": round(w.end_s, 1),
                "length_s": round(w.length_s, 2),
                "offered": w.offered,
                "sent": w.sent,
                "applied": w.applied,
                "backlog": w.backlog,
                "latency_ms": {
                    r: {"p50": round(a, 1), "p99": round(b, 1)}
                    for r, (a, b) in w.latency_ms.items()
                },
                "rss_mb": {k: round(v, 1) for k, v in w.rss_mb.items()},
                "cpu_pct": {k: round(v, 1) for k, v in w.cpu_pct.items()},
                "held": dict(w.held),
            }
            for w in soak.windows
        ],
        "growth": {
            name: {"mb": round(g.mb, 2), "mb_per_min": round(g.mb_per_min, 2)}
            for name, g in soak.growth.items()
        },
        "p99_drift": {r: None if d is None else round(d, 3) for r, d in soak.drift.items()},
    }


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
            **({} if r.soak is None else {"soak": soak_json(r.soak)}),
        }
        for r in results
    ]
