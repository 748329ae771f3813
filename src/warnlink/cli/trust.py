"""`warnlink keys|certs|audit`: the trust tools."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from warnlink.errors import ConfigError
from warnlink.transport.private import private_file


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands."""
    audit = commands.add_parser("audit", help="audit log tools")
    audit_commands = audit.add_subparsers(required=True, metavar="ACTION")
    verify = audit_commands.add_parser(
        "verify",
        help="check an audit log: hash chain, Merkle roots, signed heads and witnessed heads "
        "(exit 0 intact and vouched for by its owner, 1 tampered, 2 set-up error, 3 not "
        "vouched for: no key set, no head, entries after the last head, another signer, or "
        "cut back or forked against a witnessed head)",
    )
    verify.add_argument("path", type=Path)
    verify.add_argument(
        "--owner",
        help="the party whose log this must be (default: from the file name, "
        "relay-<PARTY>.jsonl or gateway-<PARTY>.jsonl)",
    )
    verify.add_argument(
        "--witness",
        type=Path,
        action="append",
        default=[],
        help="a file of heads other parties countersigned (witness-<P>-relay-<R>.jsonl, "
        "or the relay's cosigned-relay-<R>.jsonl); repeatable",
    )
    verify.add_argument(
        "--instance",
        default="",
        help="the relay instance whose log it is (a standby relay's own log; default: none)",
    )
    verify.add_argument(
        "--keyset",
        type=Path,
        help="the public key set (default: keys/keyset.json beside the log or in its parent)",
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(run=_audit_verify)
    prove = audit_commands.add_parser(
        "prove", help="print a self-contained inclusion proof of one entry (JSON)"
    )
    prove.add_argument("path", type=Path)
    prove.add_argument(
        "id", help="a message id or product id (its first entry), or an entry index (digits)"
    )
    prove.add_argument("--out", type=Path, help="write the proof to this file")
    prove.set_defaults(run=_audit_prove)
    check_proof = audit_commands.add_parser(
        "check-proof",
        help="check an inclusion proof with the public key set alone (exit 0 valid, 1 invalid)",
    )
    check_proof.add_argument("proof", type=Path)
    check_proof.add_argument("--keyset", type=Path, required=True, help="the public key set")
    check_proof.set_defaults(run=_audit_check_proof)

    keys = commands.add_parser("keys", help="signing keys")
    keys_commands = keys.add_subparsers(required=True, metavar="ACTION")
    keys_init = keys_commands.add_parser(
        "init",
        help="create each party's Ed25519 signing key (owner-only files) and the public key set",
    )
    keys_init.add_argument("dir", type=Path, help="the folder for the keys")
    keys_init.add_argument(
        "--config", type=Path, help="federation TOML (default: packaged trilateral)"
    )
    keys_init.set_defaults(run=_keys_init)

    certs = commands.add_parser("certs", help="TLS certificates")
    certs_commands = certs.add_subparsers(required=True, metavar="ACTION")
    certs_init = certs_commands.add_parser(
        "init",
        help="create each party's CA and its server, node, relay and leaf certificates (mTLS)",
    )
    certs_init.add_argument("dir", type=Path, help="the folder for the certificates")
    certs_init.add_argument(
        "--config", type=Path, help="federation TOML (default: packaged trilateral)"
    )
    certs_init.set_defaults(run=_certs_init)


def _keys_init(args: argparse.Namespace) -> int:
    from warnlink.demo import default_federation_path
    from warnlink.security.keystore import KEYSET_FILE, init_keys, private_key_path
    from warnlink.sharing.federation import load_federation

    federation = load_federation(args.config or default_federation_path())
    keyset = init_keys(args.dir, federation.parties)
    for party in keyset.parties:
        print(f"{party}: {private_key_path(args.dir, party)} (private, mode 600)")
    print(f"public key set: {args.dir / KEYSET_FILE}")
    return 0


def _certs_init(args: argparse.Namespace) -> int:
    from warnlink.demo import default_federation_path
    from warnlink.security.certs import init_certs
    from warnlink.sharing.federation import load_federation

    federation = load_federation(args.config or default_federation_path())
    written = init_certs(
        args.dir, federation.parties, links=[link.parties for link in federation.links]
    )
    for party, certs in written.parties.items():
        print(f"{party}: {certs.folder}")
        for path in certs.files():
            private = " (private, mode 600)" if path.suffix == ".key" else ""
            print(f"  {path.name}{private}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from warnlink.security.keystore import read_keyset
    from warnlink.sharing.audit_proof import default_keyset_path, read_lines, verify_lines
    from warnlink.sharing.audit_vouch import owner_from_name, vouch_problem
    from warnlink.sharing.witness import read_records

    owner = args.owner or owner_from_name(args.path)
    if owner is None:
        raise ConfigError(
            f"cannot tell whose log {args.path.name} is (not gateway-<PARTY>.jsonl or "
            "relay-<PARTY>.jsonl): pass --owner"
        )
    lines = read_lines(args.path)
    witnessed = [record for path in args.witness for record in read_records(path)]
    keyset_path = args.keyset or default_keyset_path(args.path)
    keyset = None if keyset_path is None else read_keyset(keyset_path)
    result = verify_lines(lines, keyset)
    # 0: intact and vouched for; 1: a broken link; 3: intact but not vouched for.
    problem = (
        None
        if not result.intact
        else vouch_problem(
            result,
            lines,
            owner=owner,
            keyset=keyset,
            witnessed=witnessed,
            instance=args.instance,
        )
    )
    status = 1 if not result.intact else 0 if problem is None else 3
    if args.json:
        doc = {"path": str(args.path), **result.as_dict(), "expected_owner": owner}
        doc |= {"witnessed_heads": len(witnessed), "vouched": status == 0, "not_vouched": problem}
        print(json.dumps(doc, indent=2))
        return status
    print(
        f"{args.path}: {result.entries} entries, {result.heads} signed heads "
        f"({result.heads_verified} verified), {len(witnessed)} witnessed heads"
    )
    head = result.last_head
    if head is None:
        print("last signed head: none")
    else:
        print(f"last signed head: size {head.tree_size}, root {head.root}, by {head.signer}")
    if result.broken is not None:
        print(f"BROKEN: first broken link at {result.broken}")
    elif problem is not None:
        print(f"NOT VOUCHED: {problem}")
    else:
        print(f"intact and vouched for by {owner}: chain head {result.chain_head}")
    return status


def _audit_prove(args: argparse.Namespace) -> int:
    from warnlink.sharing.audit import read_log
    from warnlink.sharing.audit_proof import encode_proof, find_entry, prove

    lines = list(read_log(args.path))
    entry = find_entry(lines, args.id)
    if entry is None:
        print(f"warnlink: no entry {args.id} in {args.path}", file=sys.stderr)
        return 2
    proof = prove(lines, entry.index)
    if proof is None:
        print(f"warnlink: no signed head covers entry {entry.index} yet", file=sys.stderr)
        return 2
    if args.out is None:
        print(encode_proof(proof).decode(), end="")
        return 0
    try:
        private_file(args.out).write_bytes(encode_proof(proof))
    except OSError as exc:
        print(f"warnlink: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: entry {entry.index} against the head of size {proof.head.tree_size}")
    return 0


def _audit_check_proof(args: argparse.Namespace) -> int:
    from warnlink.errors import DecodeError
    from warnlink.security.keystore import read_keyset
    from warnlink.sharing.audit_proof import check_proof, decode_proof

    keyset = read_keyset(args.keyset)
    try:
        data = args.proof.read_bytes()
    except OSError as exc:
        print(f"warnlink: cannot read {args.proof}: {exc}", file=sys.stderr)
        return 2
    try:
        proof = decode_proof(data)
    except DecodeError as exc:
        print(f"invalid: {exc}")
        return 1
    problem = check_proof(proof, keyset)
    if problem is not None:
        print(f"invalid: {problem}")
        return 1
    entry, head = proof.entry, proof.head
    print(
        f"valid: entry {entry.index} ({entry.outcome} {entry.msg_id or '-'} to "
        f"{entry.recipient or '-'}) is in {head.signer}'s log of {head.tree_size} entries, "
        f"root {head.root}"
    )
    return 0
