"""Whether an intact audit log is vouched for, and by whom.

A hash chain anyone can recompute, and heads anyone can sign with their own key: an
intact log (`audit_proof.verify_lines`) says nothing until it is tied to the party
it must belong to. A log is vouched for when:

- its owner is the expected one (named by the caller or by the file's name, never
  read from the log itself: a party re-signing another's log would name itself);
- a key set was given, so every head's signature was checked against it;
- a head signed by that owner covers every entry (nothing after the last head);
- no head a witness countersigned (`sharing.witness`) contradicts it: the log holds
  at least as many entries as each witnessed head (else it was cut back, rolled
  back), and its first entries give that head's root (else it forked).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from warnlink.security.merkle import MerkleAccumulator
from warnlink.security.signing import KeySet
from warnlink.sharing.audit import AuditEntry, AuditLine, entry_leaf
from warnlink.sharing.audit_proof import Unreadable, Verification
from warnlink.sharing.witness import WitnessedHead, cosignature_problem

#: How the demo and ``warnlink up`` name audit logs: ``gateway-<PARTY>.jsonl`` and
#: ``relay-<PARTY>.jsonl`` (`node.stores`).
_LOG_NAME: Final = re.compile(r"^(?:gateway|relay)-([A-Z][A-Z0-9_]{1,15})\.jsonl$")


def owner_from_name(path: Path) -> str | None:
    """The party whose log `path` is by its name (``relay-USA.jsonl``: USA), if it says."""
    match = _LOG_NAME.match(path.name)
    return None if match is None else match.group(1)


def prefix_roots(lines: Iterable[AuditLine | Unreadable], sizes: Iterable[int]) -> dict[int, bytes]:
    """The RFC 9162 root of the log's first n entries, for each n of `sizes` it holds."""
    wanted = set(sizes)
    tree = MerkleAccumulator()
    roots = {0: tree.root()} if 0 in wanted else {}
    for line in lines:
        if isinstance(line, AuditEntry):
            tree.append(entry_leaf(line))
            if tree.size in wanted:
                roots[tree.size] = tree.root()
    return roots


def vouch_problem(
    result: Verification,
    lines: Sequence[AuditLine | Unreadable],
    *,
    owner: str,
    keyset: KeySet | None,
    witnessed: Sequence[WitnessedHead] = (),
    instance: str = "",
) -> str | None:
    """Why an intact log is not vouched for as `owner`'s (one line), or None if it is.

    `instance` names the relay instance whose log it is (a standby relay keeps its own,
    witnessed apart); "" for a gateway's log or a relay that runs alone.
    """
    if keyset is None:
        return "no key set found (pass --keyset): no signature could be checked"
    if result.owner is not None and result.owner != owner:
        return f"the log's entries and heads are {result.owner}'s, not {owner}'s"
    if result.last_head is None:
        return "no signed head: a bare hash chain, which anyone can recompute"
    if result.unsigned_tail:
        return f"{result.unsigned_tail} entries after the last signed head"
    roots = prefix_roots(lines, (w.head.tree_size for w in witnessed))
    for record in witnessed:
        head, by = record.head, record.witness
        if head.signer != owner:
            return f"{by} witnessed {head.signer}'s log, not {owner}'s"
        if record.log != instance:
            return f"{by} witnessed the log of relay instance {record.log!r}, not {instance!r}"
        problem = cosignature_problem(record, keyset)
        if problem is not None:
            return f"{by}'s witnessed head of {head.tree_size} entries: {problem}"
        if head.tree_size > result.entries:
            return (
                f"rolled back: {by} witnessed a head of {head.tree_size} entries, "
                f"the log holds {result.entries}"
            )
        if roots[head.tree_size].hex() != head.root:
            return f"forked: {by} witnessed another root for the first {head.tree_size} entries"
    return None
