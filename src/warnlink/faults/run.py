"""Running the fault cases, one after another, each in a folder of its own."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from warnlink.faults.cases import CASES
from warnlink.faults.measure import CaseResult
from warnlink.faults.rig import Sizes


async def run_faults(
    numbers: Iterable[int],
    sizes: Sizes,
    *,
    folder: Path | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Run the cases `numbers` (of `CASES`) at `sizes`; their results, in order.

    Args:
        numbers: case numbers; one not in `CASES` raises KeyError.
        sizes: how big each case runs.
        folder: where each case keeps its data (``case<N>/``); a temporary folder,
            removed afterwards, when None.
        on_result: called with each result as soon as it is known.
    """
    runs = [(n, CASES[n]) for n in numbers]
    with tempfile.TemporaryDirectory(prefix="warnlink-faults-") as scratch:
        base = folder or Path(scratch)
        results: list[CaseResult] = []
        for number, run in runs:
            case_folder = base / f"case{number}"
            case_folder.mkdir(parents=True, exist_ok=True)
            for result in await run(case_folder, sizes):
                results.append(result)
                if on_result is not None:
                    on_result(result)
        return results
