"""``BearerTokenBackend``: an authentication backend for bearer access tokens.

::

    AUTHENTICATION_BACKENDS = [
        "bearerguard.django.BearerTokenBackend",
        "django.contrib.auth.backends.ModelBackend",   # keep for the admin, if any
    ]

The credential is keyword-only (``authenticate(request, *, bearer_token=...)``)
so Django offers this backend bearer tokens and nothing else, and offers bearer
tokens to no backend that does not name them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError
from django.http import HttpRequest

from .._errors import InvalidToken
from .._http import REFUSALS
from .._users import TokenUser
from ..claims import StandardClaims
from ._conf import DjangoConfig, get_config
from ._core import dpop_of, remember_claims, remember_error
from ._usernames import check_characters, check_for_model

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager

__all__ = ["BearerTokenBackend"]

log = logging.getLogger("bearerguard.django")


def _certificate(request: HttpRequest | None, config: DjangoConfig) -> str | None:
    """The request's TLS client certificate, with ``MTLS`` on (``None``: none, or off).

    Under WSGI from ``request.META`` (``SSL_CLIENT_CERT``, or the trusted
    proxy's header); under ASGI from the scope's TLS extension.
    """
    certificates = config.guard.certificates
    if certificates is None or request is None:
        return None
    return certificates.from_environ(request.META, getattr(request, "scope", None))


class BearerTokenBackend:
    """Authenticate a request by its bearer access token.

    The token is verified by the verifier ``settings.BEARERGUARD`` describes;
    ``USER_MODE`` says what user the claims become:

    * ``"stateless"`` (default): a :class:`~bearerguard.django.TokenUser`
      named by the ``USERNAME_CLAIM`` claim (default ``sub``); no database;
    * ``"lookup"``: the existing active user with that username, else 401;
    * ``"create"``: that user, created (with an unusable password) on first sight.

    The username is ``USERNAME_PREFIXES[iss]`` + the claim, or what
    ``USERNAME_MAPPER`` makes of the claims (see :meth:`username_for`). A
    token is never mapped to a staff or superuser account (401, as for an
    unknown user) unless ``ALLOW_PRIVILEGED_USERS`` is true: one signing key
    of one trusted issuer should not be worth the whole site.

    The username is checked before any query: no control or format characters, no
    longer than the user model's ``USERNAME_FIELD`` allows, already in the
    model's normal form (NFKC); and a database user counts only if it bears
    exactly that username. Any of these failing is a 401 ``invalid_token``.

    A refused token makes :meth:`authenticate` return ``None`` (Django then
    tries the next backend and sends ``user_login_failed``); the reason is
    kept on the request for the middleware's 401 or 503 response. Subclass and
    override :meth:`configure_user` to copy claims onto database users.
    """

    # Each sync/async pair below differs only in its I/O calls (verifying,
    # the database, the configure_user hook); the decisions between them are
    # shared functions.

    def authenticate(
        self, request: HttpRequest | None, *, bearer_token: str | None = None
    ) -> TokenUser[Any] | AbstractBaseUser | None:
        """The user *bearer_token* authenticates, or ``None`` when it is refused."""
        if bearer_token is None:
            return None
        config = get_config()
        try:
            claims = config.verifier.verify(
                bearer_token,
                client_certificate=_certificate(request, config),
                dpop=dpop_of(request, config),
            )
            return _accepted(request, claims, self._user_for(request, claims, config))
        except REFUSALS as exc:
            remember_error(request, exc)  # for the middleware's 401 or 503
            return None

    async def aauthenticate(
        self, request: HttpRequest | None, *, bearer_token: str | None = None
    ) -> TokenUser[Any] | AbstractBaseUser | None:
        """Async twin of :meth:`authenticate`: key fetches never block the event loop."""
        if bearer_token is None:
            return None
        config = get_config()
        try:
            claims = await config.verifier.averify(
                bearer_token,
                client_certificate=_certificate(request, config),
                dpop=dpop_of(request, config),
            )
            return _accepted(request, claims, await self._auser_for(request, claims, config))
        except REFUSALS as exc:
            remember_error(request, exc)  # for the middleware's 401 or 503
            return None

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        """The database user for a session (``None`` in the stateless mode: no sessions)."""
        config = get_config()
        if config.user_mode == "stateless":
            return None
        model = get_user_model()
        try:
            user = model._default_manager.get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self._allowed(user, config) else None

    async def aget_user(self, user_id: Any) -> AbstractBaseUser | None:
        """Async twin of :meth:`get_user`."""
        return await sync_to_async(self.get_user)(user_id)

    # -- hooks ----------------------------------------------------------------

    def username_for(self, claims: StandardClaims, config: DjangoConfig) -> str:
        """The username the claims name; raise :class:`~bearerguard.InvalidToken` if none.

        ``USERNAME_MAPPER(claims)`` when set; otherwise the ``USERNAME_CLAIM``
        claim (a non-empty string) after the token issuer's
        ``USERNAME_PREFIXES`` entry. A username must fall in its own issuer's
        namespace (the issuer with the longest matching prefix), so with
        ``{"https://corp": "", "https://partner": "partner:"}`` a corp token
        with ``sub`` ``"partner:ann"`` is refused rather than taken for
        partner's ``ann`` — and so is ``"PARTNER:ann"``, which a
        case-insensitive database would take for it.
        """
        if config.username_mapper is not None:
            username = config.username_mapper(claims)
            if type(username) is not str or not username:
                raise InvalidToken("no username for this token")
            return username
        value = claims.raw.get(config.username_claim)
        if type(value) is not str or not value:
            raise InvalidToken(f"token has no usable {config.username_claim!r} claim")
        prefixes = config.username_prefixes
        if prefixes is None:
            return value
        # The verifier checked `iss` against the issuer that verified the token.
        prefix = prefixes.get(claims.iss or "")
        username = value if prefix is None else prefix + value
        if prefix is None or config.username_owner(username) != claims.iss:
            raise InvalidToken(f"token has no usable {config.username_claim!r} claim")
        return username

    def configure_user(
        self,
        request: HttpRequest | None,
        user: AbstractBaseUser,
        claims: StandardClaims,
        *,
        created: bool,
    ) -> AbstractBaseUser:
        """Adjust a database *user* from *claims* (lookup and create modes); save it yourself.

        Called on every authentication, with ``created=True`` the first time in
        the create mode. Returns the user to authenticate.
        """
        return user

    async def aconfigure_user(
        self,
        request: HttpRequest | None,
        user: AbstractBaseUser,
        claims: StandardClaims,
        *,
        created: bool,
    ) -> AbstractBaseUser:
        """Async twin of :meth:`configure_user` (by default runs it in a thread)."""
        return await sync_to_async(self.configure_user)(request, user, claims, created=created)

    def user_can_authenticate(self, user: AbstractBaseUser) -> bool:
        """Refuse inactive users, as Django's ``ModelBackend`` does."""
        return getattr(user, "is_active", True) is not False

    def _allowed(self, user: AbstractBaseUser, config: DjangoConfig) -> bool:
        if not self.user_can_authenticate(user):
            return False
        if config.allow_privileged_users:
            return True
        privileged = getattr(user, "is_superuser", False) or getattr(user, "is_staff", False)
        if privileged:
            log.warning(
                "refusing staff or superuser %r for a bearer token "
                "(BEARERGUARD['ALLOW_PRIVILEGED_USERS'] would allow it)",
                user.get_username(),
            )
        return not privileged

    # -- claims to user -----------------------------------------------------------

    def _user_for(
        self, request: HttpRequest | None, claims: StandardClaims, config: DjangoConfig
    ) -> TokenUser[Any] | AbstractBaseUser:
        username, model = self._checked_username(claims, config)
        if model is None:
            return TokenUser(claims, username)
        try:
            user, created = _lookup(model, username, config.user_mode)
        except (model.DoesNotExist, model.MultipleObjectsReturned, IntegrityError) as exc:
            raise _not_found(exc, username) from None
        # Checked before the hook too: a refused user's record is never touched.
        user = self._checked(_exactly(user, username), config)
        return self._checked(self.configure_user(request, user, claims, created=created), config)

    async def _auser_for(
        self, request: HttpRequest | None, claims: StandardClaims, config: DjangoConfig
    ) -> TokenUser[Any] | AbstractBaseUser:
        username, model = self._checked_username(claims, config)
        if model is None:
            return TokenUser(claims, username)
        try:
            user, created = await _alookup(model, username, config.user_mode)
        except (model.DoesNotExist, model.MultipleObjectsReturned, IntegrityError) as exc:
            raise _not_found(exc, username) from None
        user = self._checked(_exactly(user, username), config)
        configured = await self.aconfigure_user(request, user, claims, created=created)
        return self._checked(configured, config)

    def _checked_username(
        self, claims: StandardClaims, config: DjangoConfig
    ) -> tuple[str, type[AbstractBaseUser] | None]:
        """The username, checked before any query, and the user model (``None``: stateless)."""
        username = self.username_for(claims, config)
        # Also in the stateless mode: views hand `request.user.username` to
        # queries and logs of their own.
        check_characters(username)
        if config.user_mode == "stateless":
            return username, None
        model = get_user_model()
        check_for_model(username, model)
        return username, model

    def _checked(self, user: AbstractBaseUser | None, config: DjangoConfig) -> AbstractBaseUser:
        # The same answer for unknown, inactive and privileged users: the
        # response does not tell a token holder which accounts exist.
        if user is None or not self._allowed(user, config):
            raise InvalidToken(_NO_USER)
        return user


_NO_USER = "no active user for this token"


def _accepted(
    request: HttpRequest | None, claims: StandardClaims, user: TokenUser[Any] | AbstractBaseUser
) -> TokenUser[Any] | AbstractBaseUser:
    remember_claims(request, claims)
    return user


def _lookup(
    model: type[AbstractBaseUser], username: str, mode: str
) -> tuple[AbstractBaseUser, bool]:
    """The user named *username* and whether it was created now (the "create" mode)."""
    manager = _manager(model)
    if mode == "create":
        return manager.get_or_create(
            defaults=_new_user_defaults(model), **_natural_key(model, username)
        )
    return manager.get_by_natural_key(username), False


async def _alookup(
    model: type[AbstractBaseUser], username: str, mode: str
) -> tuple[AbstractBaseUser, bool]:
    """Async twin of :func:`_lookup`."""
    manager = _manager(model)
    if mode == "create":
        return await manager.aget_or_create(
            defaults=_new_user_defaults(model), **_natural_key(model, username)
        )
    return await manager.aget_by_natural_key(username), False


def _exactly(user: AbstractBaseUser, username: str) -> AbstractBaseUser | None:
    """*user* if it bears exactly *username*; else ``None`` (refused as an unknown user).

    The database compares by its collation (case- and accent-insensitive on
    MySQL by default, ``citext`` on PostgreSQL) and a custom manager may look
    up with ``iexact``: either finds ``ann`` for a token naming ``ANN``.
    """
    found = user.get_username()
    if found == username:
        return user
    log.warning(
        "refusing user %r for a bearer token naming %r: the database matched a different "
        "username (a case- or accent-insensitive collation or lookup?)",
        found,
        username,
    )
    return None


def _not_found(exc: Exception, username: str) -> InvalidToken:
    if not isinstance(exc, ObjectDoesNotExist):
        # Several users match (a username field that is not unique), or the
        # database refused to create one its lookup did not find (a unique
        # constraint wider than the lookup, e.g. on Lower(username)).
        log.warning(
            "refusing a bearer token naming %r: %s (no single user has exactly this username)",
            username,
            type(exc).__name__,
        )
    return InvalidToken(_NO_USER)


def _manager(model: type[AbstractBaseUser]) -> BaseUserManager[Any]:
    return cast("BaseUserManager[Any]", model._default_manager)


def _natural_key(model: type[AbstractBaseUser], username: str) -> dict[str, Any]:
    field = str(model.USERNAME_FIELD)  # a class attribute django-stubs does not declare
    return {field: username}


def _new_user_defaults(model: type[AbstractBaseUser]) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password
    from django.core.exceptions import FieldDoesNotExist

    try:
        model._meta.get_field("password")
    except FieldDoesNotExist:
        return {}
    # The user signs in at the issuer, never here with a password.
    return {"password": make_password(None)}
