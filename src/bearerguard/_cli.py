"""The ``bearerguard`` command: key generation and rotation, and a development issuer.

::

    bearerguard keys generate --kid kid-2025-01 --out-dir keys/     # RSA 4096
    bearerguard keys generate --kty EC --crv P-256 --passphrase-env KEY_PASSPHRASE
    bearerguard keys rotate /etc/bearerguard/keys --passphrase-env KEY_PASSPHRASE  # one run
    bearerguard keys rotate /etc/bearerguard/keys --status
    bearerguard keys jwks /etc/bearerguard/keys > jwks.json
    bearerguard serve-issuer --audience api://orders --mint dev-user --scope orders:read
    bearerguard serve-issuer --client orders-batch:s3cret:orders:read --refresh
    bearerguard revoke --redis-url redis://redis.internal:6379/0 --sub user-42
    bearerguard revoke --redis-url URL --jti 5J1X9c --until 2026-05-01T12:00:00+00:00

Passphrases come from an environment variable or a file, never from the
command line (where ``ps`` and shell history would show them). A ring whose
keys are encrypted gets no unencrypted key unless ``--no-encryption`` says so.
Exit status: 0 on success, 1 on an error, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ._errors import BearerGuardError, ConfigurationError

if TYPE_CHECKING:
    from .issuing._keyring import KeyRing

__all__ = ["main"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 3600, 90m, 24h, 7d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _passphrase(args: argparse.Namespace) -> str | None:
    """The passphrase from --passphrase-env or --passphrase-file (never argv)."""
    if args.passphrase_env:
        value = os.environ.get(args.passphrase_env)
        if not value:
            raise ConfigurationError(f"environment variable {args.passphrase_env} is not set")
        return value
    if args.passphrase_file:
        try:
            value = Path(args.passphrase_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read passphrase file {args.passphrase_file}: {exc.strerror}"
            ) from None
        value = value.rstrip("\r\n")  # the newline an editor or `echo` adds
        if not value:
            raise ConfigurationError(f"passphrase file {args.passphrase_file} is empty")
        return value
    return None


def _add_passphrase_options(
    parser: argparse.ArgumentParser, *, no_encryption: bool = False
) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--passphrase-env",
        metavar="NAME",
        help="encrypt private keys with the passphrase in environment variable NAME",
    )
    group.add_argument(
        "--passphrase-file",
        metavar="PATH",
        help="encrypt private keys with the passphrase in this file (trailing newline ignored)",
    )
    if no_encryption:
        group.add_argument(
            "--no-encryption",
            action="store_true",
            help="write new private keys unencrypted even though the ring's keys are encrypted",
        )


def _add_key_type_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kty", choices=("RSA", "EC", "OKP"), default="RSA", help="key type (default RSA)"
    )
    parser.add_argument(
        "--bits",
        type=int,
        choices=(2048, 3072, 4096),
        default=4096,
        help="RSA key size (default 4096)",
    )
    parser.add_argument(
        "--crv",
        choices=("P-256", "P-384", "P-521", "Ed25519", "Ed448"),
        help="curve: P-256 (EC default), P-384, P-521; Ed25519 (OKP default), Ed448",
    )
    parser.add_argument("--alg", help="JWS algorithm (default: RS256, ES256/384/512 or EdDSA)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bearerguard",
        description="bearerguard: keys for JWT issuers, a local issuer, and token revocation",
        allow_abbrev=False,  # options are spelled out: no surprises from prefixes
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys = commands.add_parser("keys", help="generate and rotate signing keys", allow_abbrev=False)
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")

    gen = key_commands.add_parser(
        "generate",
        allow_abbrev=False,
        help="generate a signing key pair (private PEM 0600, public PEM, public JWK)",
        description="Generate a signing key. Run it from a shell or an init job, never "
        "from a request handler. Existing files are never overwritten.",
    )
    _add_key_type_options(gen)
    gen.add_argument("--kid", help="key id, e.g. kid-2025-01 (default: RFC 7638 thumbprint)")
    gen.add_argument("--out-dir", default=".", type=Path, help="directory (default: .)")
    gen.add_argument("--name", help="file name stem (default: the kid)")
    _add_passphrase_options(gen)
    gen.set_defaults(run=_cmd_generate)

    rot = key_commands.add_parser(
        "rotate",
        allow_abbrev=False,
        help="one scheduled rotation run on a key ring directory",
        description="Remove retired keys whose tokens have expired, activate the key "
        "published by the previous run (once it has been published for --publish-delay), "
        "retire the previously active key, and publish the next key. Safe to run often.",
    )
    rot.add_argument("directory", type=Path, help="the key ring directory")
    rot.add_argument("--status", action="store_true", help="only show the ring")
    rot.add_argument("--dry-run", action="store_true", help="show what would change")
    rot.add_argument(
        "--publish-delay",
        type=_duration,
        default=86400.0,
        help="how long a new key is published before it signs (default 24h)",
    )
    rot.add_argument(
        "--retire-after",
        type=_duration,
        default=86400.0,
        help="how long a retired key stays published (default 24h; "
        "at least the longest token lifetime plus leeway)",
    )
    _add_key_type_options(rot)
    _add_passphrase_options(rot, no_encryption=True)
    rot.set_defaults(run=_cmd_rotate)

    jwks = key_commands.add_parser("jwks", help="print the JWKS of a key ring", allow_abbrev=False)
    jwks.add_argument("directory", type=Path, help="the key ring directory")
    source = jwks.add_mutually_exclusive_group()
    source.add_argument(
        "--passphrase-env",
        metavar="NAME",
        help="the passphrase of encrypted private keys, from environment variable NAME "
        "(each published JWK is checked against its private key)",
    )
    source.add_argument(
        "--passphrase-file", metavar="PATH", help="the same passphrase, read from this file"
    )
    jwks.set_defaults(run=_cmd_jwks)

    serve = commands.add_parser(
        "serve-issuer",
        allow_abbrev=False,
        help="run a local authorization server on 127.0.0.1 for development (Ctrl-C stops)",
        description="Serve RFC 8414 metadata, OIDC discovery, a JWKS and a token endpoint "
        "(client_credentials and refresh_token grants; client_secret_basic and "
        "client_secret_post) on 127.0.0.1 with throw-away keys, and print tokens it signed. "
        "For development only.",
    )
    serve.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    serve.add_argument("--path", default="", help="issuer path, e.g. /tenant-a")
    serve.add_argument("--audience", default="api://dev", help="aud of minted tokens")
    serve.add_argument("--client-id", default="dev-client", help="client_id of minted tokens")
    serve.add_argument(
        "--kty", choices=("RSA", "EC", "OKP"), default="RSA", help="key type (default RSA 2048)"
    )
    serve.add_argument("--mint", metavar="SUB", action="append", default=[], help="print a token")
    serve.add_argument(
        "--scope",
        action="append",
        default=[],
        help="scope of minted tokens, and one a client without its own scopes may request",
    )
    serve.add_argument(
        "--client",
        metavar="ID:SECRET[:SCOPE,...]",
        action="append",
        default=[],
        help="a client of the token endpoint (repeatable); without scopes it may request "
        "the --scope scopes",
    )
    serve.add_argument(
        "--clients-file",
        metavar="PATH",
        type=Path,
        help='clients from a JSON file: {"clients": [{"client_id": ..., "client_secret": ..., '
        '"scopes": [...], "refresh": true}]}',
    )
    serve.add_argument(
        "--refresh",
        action="store_true",
        help="--client clients also get refresh tokens from client_credentials and may use "
        "the refresh_token grant (RFC 6749 4.4.3 advises against this outside development)",
    )
    serve.add_argument(
        "--expires-in", type=_duration, default=3600.0, help="token lifetime (default 1h)"
    )
    serve.set_defaults(run=_cmd_serve)
    _add_revoke(commands)
    return parser


def _add_revoke(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    revoke = commands.add_parser(
        "revoke",
        allow_abbrev=False,
        help="refuse tokens before they expire: one token, a user's or a client's",
        description="Write a revocation to the deny list in Redis that every verifier "
        "configured with redis_url= (or revocations=) checks; it takes effect on every "
        "instance within their staleness (5 s by default). TIME and EXP are POSIX seconds "
        "or ISO 8601 with an offset (2026-05-01T12:00:00+00:00, or Z).",
    )
    revoke.add_argument(
        "--redis-url",
        metavar="URL",
        help="the deny list's Redis (redis://, rediss:// or unix://; default: the "
        "BEARERGUARD_REDIS_URL environment variable, which keeps a password out of ps)",
    )
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--jti", metavar="JTI", help="revoke the token with this jti (needs --until)"
    )
    which.add_argument("--sub", metavar="SUB", help="revoke every token of this subject")
    which.add_argument(
        "--client",
        metavar="ID",
        help="revoke every token of this client (its client_id, azp, cid or appid claim)",
    )
    revoke.add_argument("--until", metavar="EXP", type=_instant, help="with --jti: the token's exp")
    revoke.add_argument(
        "--before",
        metavar="TIME",
        type=_instant,
        help="with --sub or --client: tokens issued before TIME (iat < TIME; default: now)",
    )
    revoke.add_argument(
        "--max-token-lifetime",
        type=_duration,
        default=None,
        metavar="DURATION",
        help="the longest token lifetime the verifiers accept: how long a --sub or --client "
        "revocation is kept (default 24h)",
    )
    revoke.add_argument(
        "--prefix", default=None, help="key prefix of the deny list (default bearerguard:revoked:)"
    )
    revoke.set_defaults(run=_cmd_revoke, check=lambda args: _check_revoke(revoke, args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    check = getattr(args, "check", None)
    if check is not None:
        check(args)  # a usage error exits with status 2, as argparse's own do
    try:
        return int(args.run(args, sys.stdout))
    except BearerGuardError as exc:
        print(f"bearerguard: error: {exc.description}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a directory that is not writable
        where = f": {exc.filename}" if exc.filename else ""
        print(f"bearerguard: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


# -- keys generate ---------------------------------------------------------------------


def _cmd_generate(args: argparse.Namespace, out: TextIO) -> int:
    from .issuing._key_files import write_key_files
    from .issuing._keys import generate_key_pair
    from .issuing._ring_directory import check_kid

    passphrase = _passphrase(args)
    if args.kid is not None:
        check_kid(args.kid)
    if args.name is not None:
        check_kid(args.name)
    if args.kty == "RSA" and args.crv is not None:
        raise ConfigurationError("--crv is for EC and OKP keys")
    directory: Path = args.out_dir
    if not directory.is_dir():
        raise ConfigurationError(f"output directory {directory} does not exist")
    pair = generate_key_pair(args.kty, bits=args.bits, crv=args.crv, kid=args.kid, alg=args.alg)
    stem = args.name or check_kid(pair.kid)
    paths = {
        "private_path": directory / f"{stem}.private.pem",
        "public_path": directory / f"{stem}.public.pem",
        "jwk_path": directory / f"{stem}.jwk.json",
    }
    write_key_files(pair, passphrase=passphrase, **paths)
    encrypted = ", encrypted" if passphrase else ""
    print(f"kid:         {pair.kid}", file=out)
    print(f"alg:         {pair.alg}", file=out)
    print(f"private key: {paths['private_path']} (mode 0600{encrypted})", file=out)
    print(f"public key:  {paths['public_path']}", file=out)
    print(f"public JWK:  {paths['jwk_path']}", file=out)
    return 0


# -- keys rotate / jwks -----------------------------------------------------------------


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cmd_rotate(args: argparse.Namespace, out: TextIO) -> int:
    from .issuing._keyring import KeyRing
    from .issuing._lifecycle import RotationPolicy

    policy = RotationPolicy(publish_delay=args.publish_delay, retire_after=args.retire_after)
    ring = KeyRing(args.directory, policy=policy)
    if args.status:
        _print_status(ring, out)
        return 0
    if args.kty == "RSA" and args.crv is not None:
        raise ConfigurationError("--crv is for EC and OKP keys")
    passphrase = None if args.dry_run else _passphrase(args)
    steps = ring.rotate(
        kty=args.kty,
        bits=args.bits,
        crv=args.crv,
        alg=args.alg,
        passphrase=passphrase,
        allow_unencrypted=args.no_encryption,
        dry_run=args.dry_run,
    )
    verb = "would " if args.dry_run else ""
    for step in steps:
        print(f"{verb}{step.action:<8} {step.kid}  ({step.reason})", file=out)
    if not steps:
        print("nothing to do", file=out)
    if not args.dry_run:
        _print_status(ring, out)
    return 0


def _print_status(ring: KeyRing, out: TextIO) -> None:
    state = ring.state()
    policy = ring.policy
    if not state.keys:
        print(f"key ring {ring.directory} is empty", file=out)
        return
    print(f"{'kid':<44} {'alg':<6} {'state':<10} {'since':<21} next step", file=out)
    for key in state.keys:
        since = {
            "generated": key.created_at,
            "published": key.published_at,
            "active": key.activated_at,
            "retired": key.retired_at,
        }[key.state.value]
        if key.state.value == "published" and key.published_at is not None:
            after = f"may activate after {_when(key.published_at + policy.publish_delay)}"
        elif key.state.value == "retired" and key.retired_at is not None:
            after = f"removable after {_when(key.retired_at + policy.retire_after)}"
        elif key.state.value == "active":
            after = "signs new tokens"
        else:
            after = "publish"
        print(
            f"{key.kid:<44} {key.alg:<6} {key.state.value:<10} {_when(since):<21} {after}", file=out
        )


def _cmd_jwks(args: argparse.Namespace, out: TextIO) -> int:
    from .issuing._keyring import KeyRing

    print(json.dumps(KeyRing(args.directory).jwks(_passphrase(args)), indent=2), file=out)
    return 0


# -- serve-issuer -----------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from ._rules import scope_tokens
    from .issuing._clients import load_clients, parse_client, unique_clients
    from .testing._local_issuer import LocalIssuer

    scopes = scope_tokens(args.scope, "--scope", distinct=True)
    if args.refresh and not args.client:
        raise ConfigurationError(
            "--refresh applies to --client clients; give at least one "
            '(in a clients file, write "refresh": true per client)'
        )
    clients = [parse_client(text, refresh=args.refresh) for text in args.client]
    if args.clients_file is not None:
        clients += load_clients(args.clients_file)
    clients = unique_clients(clients)
    issuer = LocalIssuer(
        audience=args.audience,
        client_id=args.client_id,
        kty=args.kty,
        path=args.path,
        port=args.port,
        token_ttl=int(args.expires_in),
        clients=clients,
        default_scopes=scopes,
    )
    stop = threading.Event()
    with issuer:
        print(f"issuer:   {issuer.url}", file=out)
        print(f"oidc:     {issuer.oidc_url}", file=out)
        print(f"oauth2:   {issuer.oauth2_url}", file=out)
        print(f"jwks_uri: {issuer.jwks_uri}", file=out)
        print(f"token_endpoint: {issuer.token_endpoint}", file=out)
        print(f"audience: {issuer.audience}", file=out)
        for client in clients:
            allowed = " ".join(scopes if client.scopes is None else client.scopes) or "(none)"
            refresh = "; refresh tokens" if client.refresh else ""
            print(f"client {client.client_id}: scopes {allowed}{refresh}", file=out)
        for sub in args.mint:
            print(f"token for {sub}: {issuer.mint(sub=sub, scopes=args.scope)}", file=out)
        print("serving; press Ctrl-C to stop", file=out, flush=True)
        previous = signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    print("stopped", file=out, flush=True)
    return 0


# -- revoke -------------------------------------------------------------------------------


def _instant(text: str) -> float:
    """POSIX seconds from ``1767225600`` or ``2026-01-01T00:00:00+00:00`` (``Z`` too)."""
    value = text.strip()
    try:
        return float(value) if value.replace(".", "", 1).isdigit() else _iso(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (POSIX seconds, or ISO 8601 with an offset such as "
            "2026-05-01T12:00:00+00:00)"
        ) from None


def _iso(value: str) -> float:
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"  # Python before 3.11 does not read Z
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} has no UTC offset: add one, e.g. {value}+00:00 or {value}Z"
        )
    return moment.timestamp()


def _check_revoke(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage error (status 2) if the options do not go together."""
    if args.jti is not None and args.until is None:
        parser.error("--jti needs --until EXP (the token's exp: when the entry may go)")
    if args.jti is not None and args.before is not None:
        parser.error("--before goes with --sub or --client; for --jti give --until")
    if args.jti is None and args.until is not None:
        parser.error("--until goes with --jti; for --sub or --client give --before")
    if args.redis_url is None and not os.environ.get("BEARERGUARD_REDIS_URL"):
        parser.error("give --redis-url URL (or set BEARERGUARD_REDIS_URL)")


def _cmd_revoke(args: argparse.Namespace, out: TextIO) -> int:
    from ._redis_link import RedisLink, check_redis_url
    from ._revocation import DEFAULT_MAX_TOKEN_LIFETIME, DEFAULT_PREFIX, Revocations

    url = args.redis_url or os.environ["BEARERGUARD_REDIS_URL"]
    # Checked under the option's name; neither message ever repeats the URL (a password).
    link = RedisLink(check_redis_url(url, "--redis-url"), timeout=5.0)
    # The link's "working without Redis" warning is for verifiers: here the error says it.
    logging.getLogger("bearerguard.redis").addHandler(logging.NullHandler())
    revocations = Revocations(
        link,
        prefix=DEFAULT_PREFIX if args.prefix is None else args.prefix,
        max_token_lifetime=args.max_token_lifetime or DEFAULT_MAX_TOKEN_LIFETIME,
    )
    where = f"{link.where} (prefix {revocations.prefix})"
    try:
        if args.jti is not None:
            what = f"the token with jti {args.jti!r} (exp {_when(args.until)})"
            stored = revocations.revoke_token(args.jti, until=args.until)
        else:
            before = args.before if args.before is not None else datetime.now(timezone.utc)
            if args.sub is not None:
                stored = revocations.revoke_subject(args.sub, before=before)
                who = f"subject {args.sub!r}"
            else:
                stored = revocations.revoke_client(args.client, before=before)
                who = f"client {args.client!r}"
            moment = before if isinstance(before, float) else before.timestamp()
            what = f"every token of {who} issued before {_when(moment)}"
        if stored:
            print(f"revoked {what} in {where}", file=out)
        else:
            print(f"nothing written: {what} has expired already", file=out)
    finally:
        link.close()
    return 0
