"""The user of a request that a bearer token alone authenticated.

A resource server often has no user table of its own: the identity lives at
the issuer and arrives as claims. :class:`TokenUser` is that user in every
adapter: ``request.user`` under Starlette/FastAPI's ``JWTAuth``, and what
Django's ``BearerTokenBackend`` returns in its default ``"stateless"`` mode.
It is never saved, answers ``is_authenticated`` with ``True``, and exposes the
verified claims::

    user = request.user
    user.claims                    # AccessClaims (or the configured claims type)
    user.username                  # the token's `sub` (Django: USERNAME_CLAIM)
    "orders:read" in user.scopes
    "admin" in user.roles

It speaks both frameworks' user interfaces (Starlette's ``BaseUser``:
``is_authenticated``, ``display_name``, ``identity``; Django's: ``pk``,
``is_staff``, ``has_perm``, ...) without importing either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from .claims import StandardClaims

__all__ = ["TokenUser"]

C = TypeVar("C", bound=StandardClaims)


class TokenUser(Generic[C]):
    """A user made from verified claims; nothing is read from or written to a database.

    *username* defaults to the token's ``sub``, else its ``client_id`` (a
    client-credentials token), else ``""``. It has no primary key and no
    Django permissions (``has_perm`` is always ``False``): decide with
    :attr:`scopes` and ``claims`` instead.

    Attributes: ``claims`` (the verified claims, of the configured claims
    type), ``username``, and ``backend``, which Django's
    :func:`~django.contrib.auth.authenticate` sets.
    """

    __slots__ = ("backend", "claims", "username")

    is_active: ClassVar[bool] = True
    is_staff: ClassVar[bool] = False
    is_superuser: ClassVar[bool] = False
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False
    pk: ClassVar[None] = None
    id: ClassVar[None] = None

    def __init__(self, claims: C, username: str | None = None) -> None:
        self.claims = claims
        if username is None:
            username = claims.sub or getattr(claims, "client_id", None) or ""
        self.username = username
        self.backend: str | None = None

    @property
    def scopes(self) -> frozenset[str]:
        """The token's scopes (empty when the claims type has none)."""
        granted = getattr(self.claims, "scopes", None)
        return granted if isinstance(granted, frozenset) else frozenset()

    @property
    def roles(self) -> frozenset[str]:
        """The token's roles (empty when the claims type has none)."""
        held = getattr(self.claims, "roles", None)
        return held if isinstance(held, frozenset) else frozenset()

    @property
    def identity(self) -> str:
        """The username (Starlette's ``BaseUser.identity``)."""
        return self.username

    @property
    def display_name(self) -> str:
        """The username (Starlette's ``BaseUser.display_name``)."""
        return self.username

    def get_username(self) -> str:
        """The username, as Django's user classes name it."""
        return self.username

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<TokenUser {self.username!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TokenUser):
            return NotImplemented
        return self.username == other.username and self.claims == other.claims

    def __hash__(self) -> int:
        return hash(("TokenUser", self.username))

    # Django's user interface, answered without a database.

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """Always ``False``: a token grants scopes, not Django permissions."""
        return False

    def has_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        """``False`` unless *perm_list* is empty (as Django's users answer)."""
        return not list(perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        """Always ``False``."""
        return False

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        """Always empty."""
        return set()

    async def ahas_perm(self, perm: str, obj: Any = None) -> bool:
        """Async twin of :meth:`has_perm`."""
        return False

    async def ahas_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        """Async twin of :meth:`has_perms`."""
        return not list(perm_list)

    async def ahas_module_perms(self, app_label: str) -> bool:
        """Async twin of :meth:`has_module_perms`."""
        return False

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Raises ``NotImplementedError``: the user lives in its token."""
        raise NotImplementedError("a TokenUser lives in its token and cannot be saved")

    def delete(self, *args: Any, **kwargs: Any) -> None:
        """Raises ``NotImplementedError``: the user lives in its token."""
        raise NotImplementedError("a TokenUser lives in its token and cannot be deleted")

    def set_password(self, raw_password: str | None) -> None:
        """Raises ``NotImplementedError``: the user has no password."""
        raise NotImplementedError("a TokenUser has no password")

    def check_password(self, raw_password: str | None) -> bool:
        """Raises ``NotImplementedError``: the user has no password."""
        raise NotImplementedError("a TokenUser has no password")
