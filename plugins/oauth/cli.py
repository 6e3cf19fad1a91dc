"""`hitcircle oauth create-client NAME --redirect-uri URI [--json]`."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import orjson

from core.app import standalone
from core.auth import new_secret, sha256_hex
from core.auth import store as oauth_db
from core.config import load_settings
from core.services import services
from core.users import store as users_db


def add_commands(cli: Any) -> None:
    oauth = cli.add_parser("oauth", help="OAuth clients")
    sub = oauth.add_subparsers(dest="oauth_command", required=True)
    create = sub.add_parser("create-client", help="register a client; prints its id and secret")
    create.add_argument("name")
    create.add_argument("--redirect-uri", default="", help="the authorization-code callback")
    create.add_argument("--owner", default=None, help="owner's username or id")
    create.add_argument("--json", action="store_true", help="print {client_id, client_secret}")
    create.set_defaults(func=_create_client)


def _create_client(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def main() -> int:
        async with standalone(settings) as app:
            svc = services(app)
            owner = None
            if args.owner:
                row = await users_db.find_by_username(svc.db, args.owner, previous=False)
                if row is None and args.owner.isdecimal():
                    row = await users_db.get_user(svc.db, int(args.owner))
                if row is None:
                    print(f"hitcircle: no user {args.owner!r}")
                    return 1
                owner = int(row["id"])
            secret = new_secret(30)
            client_id = await oauth_db.create_client(
                svc.db,
                user_id=owner,
                name=args.name,
                secret_hash=sha256_hex(secret),
                redirect=args.redirect_uri,
            )
        if args.json:
            print(orjson.dumps({"client_id": client_id, "client_secret": secret}).decode())
        else:
            print(f"client id: {client_id}\nclient secret: {secret}")
        return 0

    return asyncio.run(main())
