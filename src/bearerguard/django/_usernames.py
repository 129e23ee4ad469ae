"""Usernames that come from tokens, checked before they reach the database.

A username is text an issuer chose (its ``sub``, behind a per-issuer prefix);
the database stores and compares text by rules of its own. Where the two
disagree, a token could land on an account that is not exactly its own. So
:class:`~bearerguard.django.BearerTokenBackend` refuses, before any query:

* characters no username needs (:func:`check_characters`, every mode): control
  (``Cc``: NUL, escape…), format (``Cf``: zero-width, bidi overrides…),
  unpaired surrogates, line and paragraph separators. PostgreSQL refuses NUL
  in text with an error and SQLite cannot store a surrogate;
* names the user model would not store as they are (:func:`check_for_model`):
  longer than its ``USERNAME_FIELD`` allows (SQLite keeps them, PostgreSQL
  raises, MySQL raises or truncates), or changed by its ``normalize_username``
  (NFKC for Django's models): Django never stores ``ａｄｍｉｎ``, and the
  model's ``clean()`` (run by every model form) would turn it into ``admin``.

After the query the backend also requires the database's user to bear exactly
the username asked for, because a case- or accent-insensitive collation
(MySQL's default), ``citext`` or a manager looking up with ``iexact`` finds
``ann`` for ``ANN``. :func:`fold` approximates such comparisons, so that the
issuers' username namespaces stay apart under them too.

No I/O here: the backend passes the user model in.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from .._errors import InvalidToken

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

__all__ = ["check_characters", "check_for_model", "fold"]

# Control, format, surrogate, line separator, paragraph separator.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def check_characters(username: str) -> None:
    """Raise :class:`~bearerguard.InvalidToken` if *username* has a character no name needs.

    The description never repeats the username: it is the token's text.
    """
    # str.isprintable() is false for every refused category (and for a few
    # more, such as unassigned code points): the per-character look-up runs
    # only for the rare name that fails the quick test.
    if username.isprintable():
        return
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in username):
        raise InvalidToken(
            "username in token has a control, format or unpaired surrogate character"
        )


def check_for_model(username: str, model: type[AbstractBaseUser]) -> None:
    """Raise :class:`~bearerguard.InvalidToken` unless *model* would store *username* as is.

    The length limit is the ``max_length`` of the model's ``USERNAME_FIELD``,
    so custom user models get their own; the normal form is what the model's
    ``normalize_username`` makes of the name (NFKC for Django's models).
    """
    field = model._meta.get_field(str(model.USERNAME_FIELD))
    max_length = getattr(field, "max_length", None)
    if isinstance(max_length, int) and len(username) > max_length:
        raise InvalidToken(
            f"username in token is longer than the {max_length} characters accounts allow"
        )
    normalize = getattr(model, "normalize_username", None)
    normal = normalize(username) if callable(normalize) else unicodedata.normalize("NFKC", username)
    if normal != username:
        raise InvalidToken(
            "username in token is not in the normal form accounts are stored in (Unicode NFKC)"
        )


def fold(text: str) -> str:
    """*text* as a case- and accent-insensitive database collation roughly compares it.

    Compatibility forms unified (NFKD), combining marks dropped, case folded:
    ``fold("PÄRTNER：ann") == "partner:ann"``.
    """
    if text.isascii():
        return text.lower()  # nothing to decompose or drop; ASCII folds as it lowers
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFKC", bare.casefold())
