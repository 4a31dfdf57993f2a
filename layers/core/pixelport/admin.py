"""`python -m pixelport.admin`: create, list and revoke API keys, and set accounts' rate limits, in a
deployed stack's AccountsTable (AWS credentials; `--stack` or `--table`) or `make run`'s (`--local`).

    keys create --account A --scopes image_editing,storage [--name N]   prints the new key, once
    keys list [--account A]                                             ids, names, scopes; no secrets
    keys revoke KEY_ID
    accounts set-limits --account A --limits "1000;w=60, 20;w=1"        or --default to drop them
    accounts list                                                       accounts with limits of their own
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3

from pixelport.accounts import AccountsError, AccountStore, ApiKey, parse_scopes
from pixelport.ratelimit import InvalidPolicy, RatePolicy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_OUTPUT = "AccountsTableName"
LOCAL_TABLE = "pixelport-local-AccountsTable"  # local/resources.py's name for AccountsTable
LOCAL_REGION = "us-east-1"
LOCAL_ACCESS_KEY = "local"  # make run's moto accepts these fake credentials


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m pixelport.admin", description=__doc__.split("\n\n")[0])
    where = top.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="a deployed stack: its AccountsTableName output names the table")
    where.add_argument("--table", help="the accounts table's name")
    where.add_argument(
        "--local",
        action="store_true",
        help="make run's table, in moto on 127.0.0.1:$PIXELPORT_MOTO_PORT (5000), or --endpoint",
    )
    top.add_argument("--endpoint", help="with --local: moto's URL, as make run prints it")
    top.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    groups = top.add_subparsers(dest="group", required=True)

    keys = groups.add_parser("keys").add_subparsers(dest="command", required=True)
    create = keys.add_parser("create", help="a new key, printed once")
    create.add_argument("--account", required=True)
    create.add_argument("--scopes", required=True, help="image_editing and/or storage, comma-separated")
    create.add_argument("--name", default="")
    listing = keys.add_parser("list", help="every key (no secrets)")
    listing.add_argument("--account")
    revoke = keys.add_parser("revoke", help="refuse a key from now on (within the API's key cache time)")
    revoke.add_argument("key_id")

    accounts = groups.add_parser("accounts").add_subparsers(dest="command", required=True)
    limits = accounts.add_parser("set-limits", help="an account's own rate limits")
    limits.add_argument("--account", required=True)
    chosen = limits.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--limits", help='the RateLimit header\'s notation: "1000;w=60, 20;w=1"')
    chosen.add_argument("--default", action="store_true", help="back to the deployment's defaults")
    accounts.add_parser("list", help="accounts with limits of their own")
    return top


def open_store(args: argparse.Namespace) -> AccountStore:
    client: DynamoDBClient
    if args.local:
        endpoint = args.endpoint or f"http://127.0.0.1:{os.environ.get('PIXELPORT_MOTO_PORT') or 5000}"
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_ACCESS_KEY,
            aws_secret_access_key=LOCAL_ACCESS_KEY,
        )
        return AccountStore(client, LOCAL_TABLE)
    session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    table = args.table or stack_table(session, args.stack)
    return AccountStore(session.client("dynamodb"), table)


def stack_table(session: boto3.Session, stack: str) -> str:
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    for output in described.get("Outputs", []):
        if output.get("OutputKey") == TABLE_OUTPUT:
            return str(output["OutputValue"])
    raise AccountsError(f"stack {stack} has no {TABLE_OUTPUT} output (deploy this version first)")


def when(seconds: float | None) -> str:
    return "-" if seconds is None else datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(key: ApiKey) -> str:
    scopes = ",".join(sorted(key.scopes))
    revoked = f"  revoked {when(key.revoked_at)}" if key.revoked else ""
    return (
        f"{key.key_id}  account={key.account}  name={key.name or '-'}  scopes={scopes}"
        f"  created {when(key.created_at)}{revoked}"
    )


def run(args: argparse.Namespace, store: AccountStore) -> str:
    if args.group == "keys" and args.command == "create":
        secret, record = store.create_key(args.account, parse_scopes(args.scopes), args.name)
        return (
            f"{describe(record)}\n"
            f"key: {secret}\n"
            "This is the only time the key is shown: store it now (pixelport keeps only its SHA-256)."
        )
    if args.group == "keys" and args.command == "list":
        return "\n".join(describe(key) for key in store.keys(args.account)) or "no keys"
    if args.group == "keys" and args.command == "revoke":
        return f"revoked: {describe(store.revoke_key(args.key_id))}"
    if args.group == "accounts" and args.command == "set-limits":
        policy = None if args.default else RatePolicy.parse(args.limits)
        store.set_limits(args.account, policy)
        return f"{args.account}: {policy.notation() if policy else 'the deployment defaults'}"
    if args.group == "accounts" and args.command == "list":
        found = store.accounts_with_limits()
        return "\n".join(f"{account}: {policy.notation()}" for account, policy in sorted(found.items())) or (
            "no account has limits of its own"
        )
    raise AssertionError(f"unhandled command {args.group} {args.command}")


def main(argv: Sequence[str] | None = None, store: AccountStore | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        print(run(args, store or open_store(args)))
    except (AccountsError, InvalidPolicy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
