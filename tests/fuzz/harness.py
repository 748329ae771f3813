"""What every decoder must do with any input: a value, or a typed warnlink error."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from hypothesis import strategies as st

from tests.property.profiles import time_limit
from warnlink.errors import WarnlinkError

T = TypeVar("T")

#: Examples run per fuzz target in this session.
EXAMPLES: Counter[str] = Counter()
#: Outcome of each example per target: the value's type or the error's class name.
OUTCOMES: Counter[tuple[str, str]] = Counter()

#: A generous bound for one example: a hang fails the example, a slow machine does not.
HANG_S = 10.0


def typed_or_value(
    target: str, parse: Callable[[], T], expected: type[WarnlinkError] = WarnlinkError
) -> T | None:
    """Run `parse`; its value, or None when it raised `expected` (or a subclass).

    Anything else (another exception, or running over HANG_S) fails the example.
    """
    EXAMPLES[target] += 1
    with time_limit(HANG_S):
        try:
            value = parse()
        except expected as exc:
            OUTCOMES[(target, type(exc).__name__)] += 1
            return None
    OUTCOMES[(target, "ok")] += 1
    return value


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, max_edits: int = 4) -> bytes:
    """`seed` with a few random edits: flip, set, insert or delete a byte, truncate,
    duplicate a slice."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_edits))):
        op = draw(st.sampled_from(("flip", "set", "insert", "delete", "truncate", "dup")))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[at:]
        elif op == "dup" and data:
            end = min(len(data), at + draw(st.integers(1, 32)))
            data[at:at] = data[at:end]
    return bytes(data)


def mutated_text(seed: str, max_edits: int = 4) -> st.SearchStrategy[str]:
    """`seed` with a few byte edits, as text (undecodable bytes replaced)."""
    return mutated(seed.encode(), max_edits).map(lambda b: b.decode("utf-8", "replace"))


#: JSON-like values of any shape, for replacing parts of a valid document.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def replaced(draw: st.DrawFn, doc: object, max_edits: int = 3) -> object:
    """`doc` (nested dicts and lists) with a few values replaced, keys removed or added."""

    def paths(node: object, prefix: tuple[object, ...]) -> list[tuple[object, ...]]:
        out = [prefix]
        if isinstance(node, dict):
            for key, child in node.items():
                out += paths(child, (*prefix, key))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                out += paths(child, (*prefix, i))
        return out

    def copy(node: object) -> object:
        if isinstance(node, dict):
            return {k: copy(v) for k, v in node.items()}
        if isinstance(node, list):
            return [copy(v) for v in node]
        return node

    root = copy(doc)
    for _ in range(draw(st.integers(1, max_edits))):
        candidates = paths(root, ())[1:]
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent: object = root
        for key in path[:-1]:
            parent = parent[key]  # type: ignore[index]
        last = path[-1]
        op = draw(st.sampled_from(("replace", "delete", "add")))
        if op == "replace":
            parent[last] = draw(json_values)  # type: ignore[index]
        elif op == "delete":
            del parent[last]  # type: ignore[attr-defined]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(json_values)
        elif isinstance(parent, list):
            parent.append(draw(json_values))
    return root


#: How deep `nested` goes: past the nesting limit, and past the interpreter's recursion
#: limit, where recursive parsers fail.
MAX_NESTING = 3000


@st.composite
def nested(draw: st.DrawFn, syntax: str) -> bytes:
    """Maps and arrays nested 1 to `MAX_NESTING` deep in `syntax` (``msgpack``, ``json``,
    ``toml``: the value of a key ``a``), built without recursion."""
    depth = draw(st.integers(1, MAX_NESTING))
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=8))  # True: a map
    levels = [kinds[i % len(kinds)] for i in range(depth)]
    opener, closer = {
        "msgpack": ({True: b"\x81\xa1k", False: b"\x91"}, {True: b"", False: b""}),
        "json": ({True: b'{"k":', False: b"["}, {True: b"}", False: b"]"}),
        "toml": ({True: b"{k=", False: b"["}, {True: b"}", False: b"]"}),
    }[syntax]
    leaf = {"msgpack": b"\xc0", "json": b"null", "toml": b"1"}[syntax]
    body = (
        b"".join(opener[m] for m in levels) + leaf + b"".join(closer[m] for m in reversed(levels))
    )
    return b"a = " + body + b"\n" if syntax == "toml" else body
