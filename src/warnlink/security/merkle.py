"""Merkle trees as RFC 9162 (Certificate Transparency v2.0, section 2.1) defines them.

Hashing is SHA-256 with domain separation: a leaf is ``SHA-256(0x00 || data)`` and an
interior node ``SHA-256(0x01 || left || right)``. A tree of n leaves splits at k, the
largest power of two below n: ``MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))``; the
empty tree's hash is ``SHA-256("")``. The same hashing as RFC 6962 (CT v1), so
RFC 6962's published test vectors hold.

Pure functions over lists of 32-byte leaf hashes, and `MerkleAccumulator`, which keeps
the roots of the perfect subtrees on the tree's right edge (RFC 9162 section 2.1.1's
shape read left to right) so that appending a leaf and reading the root are both
O(log n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Final

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
_LEAF: Final = b"\x00"
_NODE: Final = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def split_point(size: int) -> int:
    """k, the largest power of two smaller than `size` (size >= 2): where RFC 9162 splits."""
    return 1 << ((size - 1).bit_length() - 1)


class MerkleAccumulator:
    """A growing tree's root, kept in O(log n) space and time per leaf.

    Holds the roots of the perfect subtrees the leaves so far make, largest (leftmost)
    first: one per set bit of the size. Appending merges equal-sized neighbours as a
    binary counter carries; the root folds them right to left, which is exactly the
    RFC 9162 split (each perfect subtree is a left part whose size is the largest
    power of two below what remains).
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.size = 0
        self._peaks: list[bytes] = []
        for leaf in leaf_hashes:
            self.append(leaf)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash at the right edge."""
        self._peaks.append(leaf)
        self.size += 1
        carry = self.size
        while carry % 2 == 0:
            right = self._peaks.pop()
            self._peaks[-1] = node_hash(self._peaks[-1], right)
            carry //= 2

    def root(self) -> bytes:
        """The Merkle tree hash of every leaf appended so far."""
        if not self._peaks:
            return EMPTY_ROOT
        root = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            root = node_hash(peak, root)
        return root


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 Merkle tree hash of `leaf_hashes` (already leaf-hashed)."""
    return MerkleAccumulator(leaf_hashes).root()


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 audit path of leaf `index` in the tree of `leaf_hashes`.

    Raises:
        IndexError: `index` is not a leaf of the tree.
    """
    if not 0 <= index < len(leaf_hashes):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaf_hashes)}")
    path: list[bytes] = []
    start, end = 0, len(leaf_hashes)
    # PATH(m, D[n]) recurses into the half holding m and records the other half's
    # hash; iterating from the root collects the path top-down, so it is reversed.
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            path.append(merkle_root(leaf_hashes[start + k : end]))
            end = start + k
        else:
            path.append(merkle_root(leaf_hashes[start : start + k]))
            start += k
    path.reverse()
    return path


def tree_proofs(leaf_hashes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root of a non-empty tree and every leaf's audit path, in O(n log n).

    The same paths as `inclusion_proof` leaf by leaf (which costs O(n) each), built in
    one walk down the RFC 9162 splits: a leaf's path in the whole tree is its path in
    its half followed by the other half's root.
    """
    if len(leaf_hashes) == 1:
        return leaf_hashes[0], [[]]
    k = split_point(len(leaf_hashes))
    left_root, left = tree_proofs(leaf_hashes[:k])
    right_root, right = tree_proofs(leaf_hashes[k:])
    paths = [[*p, right_root] for p in left] + [[*p, left_root] for p in right]
    return node_hash(left_root, right_root), paths


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root that `proof` leads to from `leaf` at `index` of `size` leaves; None if
    the proof cannot belong to such a tree (wrong length for that index and size).

    The verification algorithm of RFC 9162 section 2.1.3.2, up to the comparison.
    """
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows `leaf` at `index` in the tree of `size` leaves with `root`.

    The verification algorithm of RFC 9162 section 2.1.3.2.
    """
    return root_from_inclusion(leaf, index, size, proof) == root


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """RFC 9162 section 2.1.4.1 consistency proof that the tree of the first `old_size`
    leaves is a prefix of the tree of all `leaf_hashes`.

    Empty when `old_size` is 0 or the whole tree (nothing to prove).

    Raises:
        IndexError: `old_size` is larger than the tree.
    """
    return consistency_path(
        len(leaf_hashes), old_size, lambda start, end: merkle_root(leaf_hashes[start:end])
    )


def consistency_path(
    size: int, old_size: int, subtree_root: Callable[[int, int], bytes]
) -> list[bytes]:
    """`consistency_proof` of a tree of `size` leaves, given the hash of any range of
    its leaves that the RFC 9162 recursion asks for (`subtree_root(start, end)`)."""
    if not 0 <= old_size <= size:
        raise IndexError(f"a tree of {size} leaves has no prefix of {old_size}")
    if old_size in (0, size):
        return []
    path: list[bytes] = []
    # SUBPROOF(m, D[start:end], whole) walked from the root; each step records the
    # sibling's hash, so the proof is the reverse of the order found.
    start, end, m, whole = 0, size, old_size, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            path.append(subtree_root(start + k, end))
            end = start + k
        else:
            path.append(subtree_root(start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        path.append(subtree_root(start, end))
    path.reverse()
    return path


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows the tree (`old_size`, `old_root`) is a prefix of
    (`new_size`, `new_root`): the verification algorithm of RFC 9162 section 2.1.4.2.

    The empty tree is a prefix of every tree, and a tree of itself (empty proofs).
    """
    if not 0 <= old_size <= new_size:
        return False
    if old_size in (0, new_size):
        return not proof and (old_size == 0 or old_root == new_root)
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old tree is a subtree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class SubtreeCache:
    """Hashes of ranges of an append-only tree's leaves, for proofs against it.

    The RFC 9162 recursion only ever asks for ranges whose left part is a perfect
    subtree aligned on its size; once complete, such a subtree never changes. Those of
    at least `min_size` leaves are kept (about 64 bytes per `min_size` leaves), so that
    after the first proof a proof costs O(`min_size` log n) hashing, not O(n).

    Args:
        leaves: the leaf hashes of a range, ``leaves(start, end)``.
        min_size: the smallest subtree kept, a power of two.
    """

    def __init__(self, leaves: Callable[[int, int], Sequence[bytes]], min_size: int = 64) -> None:
        self.leaves = leaves
        self.min_size = min_size
        self._perfect: dict[tuple[int, int], bytes] = {}

    def root(self, start: int, end: int) -> bytes:
        """The Merkle tree hash of leaves `start` to `end` (exclusive)."""
        size = end - start
        if size <= self.min_size:
            return merkle_root(self.leaves(start, end))
        if size & (size - 1) == 0 and start % size == 0:
            kept = self._perfect.get((start, size))
            if kept is None:
                half = start + size // 2
                kept = self._perfect[start, size] = node_hash(
                    self.root(start, half), self.root(half, end)
                )
            return kept
        k = split_point(size)
        return node_hash(self.root(start, start + k), self.root(start + k, end))
