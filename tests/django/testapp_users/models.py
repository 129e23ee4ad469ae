"""Custom user models for the username tests (tables made by ``migrate --run-syncdb``)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower


class Member(AbstractBaseUser):
    """Usernames compared case-insensitively by the database, as MySQL's default collations do.

    A username field not called ``username``, 32 characters at most.
    """

    handle: models.CharField[str, str] = models.CharField(
        max_length=32, unique=True, db_collation="NOCASE"
    )

    USERNAME_FIELD = "handle"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects: ClassVar[BaseUserManager[Any]] = BaseUserManager()


class CaselessManager(BaseUserManager["Account"]):
    """The usual recipe for case-insensitive sign-in: look the username up with ``iexact``."""

    def get_by_natural_key(self, username: str | None) -> Account:
        return self.get(name__iexact=username)

    async def aget_by_natural_key(self, username: str | None) -> Account:
        return await self.aget(name__iexact=username)


class Account(AbstractBaseUser):
    """Unique ignoring case (a constraint on ``Lower(name)``), compared exactly by ``get()``."""

    name: models.CharField[str, str] = models.CharField(max_length=64)

    USERNAME_FIELD = "name"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects: ClassVar[CaselessManager] = CaselessManager()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(Lower("name"), name="account_name_ignoring_case")
        ]


class Alias(AbstractBaseUser):
    """A username field that is not unique (Django only warns when other backends are used)."""

    alias: models.CharField[str, str] = models.CharField(max_length=64)

    USERNAME_FIELD = "alias"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects: ClassVar[BaseUserManager[Any]] = BaseUserManager()
