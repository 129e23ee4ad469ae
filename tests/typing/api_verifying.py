"""The verifying side: Issuer, Verifier, typed claims, keys, errors and the fetcher seam."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from typing_extensions import assert_type

from bearerguard import (
    JWS,
    AccessClaims,
    BearerGuardError,
    Fetcher,
    FetchResponse,
    InvalidClaims,
    Issuer,
    PublicJWK,
    StandardClaims,
    Validator,
    Verifier,
    parse_jwks,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderClaims(AccessClaims):
    """An application's claims: a subclass with one more claim."""

    tenant: str = ""


def issuer_returns_access_claims_by_default(issuer: Issuer, token: str) -> None:
    jws, claims = issuer.verify_and_validate(token)
    assert_type(jws, JWS)
    assert_type(claims, AccessClaims)
    assert_type(claims.scopes, frozenset[str])
    assert_type(claims.sub, str | None)


def issuer_returns_the_claims_type_asked_for(issuer: Issuer, token: str) -> None:
    assert_type(issuer.verify_and_validate(token, OrderClaims), tuple[JWS, OrderClaims])
    assert_type(issuer.verify_and_validate(token, StandardClaims)[1], StandardClaims)


async def async_issuer_returns_the_same_types(issuer: Issuer, token: str) -> None:
    assert_type(await issuer.averify_and_validate(token), tuple[JWS, AccessClaims])
    assert_type(await issuer.averify_and_validate(token, OrderClaims), tuple[JWS, OrderClaims])


def verifier_is_generic_in_its_claims_type(issuers: list[Issuer], token: str) -> None:
    default = Verifier(issuers)
    assert_type(default, Verifier[AccessClaims])
    assert_type(default.verify(token), AccessClaims)
    typed = Verifier(issuers, OrderClaims)
    assert_type(typed, Verifier[OrderClaims])
    assert_type(typed.verify(token).tenant, str)


async def async_verifier_returns_its_claims_type(verifier: Verifier[OrderClaims]) -> None:
    assert_type(await verifier.averify("token"), OrderClaims)


def claims_from_a_payload_keep_their_class(payload: Mapping[str, object]) -> None:
    assert_type(AccessClaims.from_payload(payload), AccessClaims)
    assert_type(OrderClaims.from_payload(payload), OrderClaims)


def keys_parse_to_public_jwks(document: bytes, member: Mapping[str, object]) -> None:
    assert_type(parse_jwks(document), list[PublicJWK])
    assert_type(PublicJWK.from_dict(member), PublicJWK)
    assert_type(Issuer("https://login.example.com", parse_jwks(document)), Issuer)


def errors_carry_their_code_and_status(error: BearerGuardError) -> None:
    assert_type(error.status, int)
    assert_type(error.code, str | None)
    assert_type(error.description, str)
    if isinstance(error, InvalidClaims):
        assert_type(error.failures, tuple[str, ...])


def offline_fetcher(
    url: str, *, headers: Mapping[str, str], timeout: float, max_bytes: int
) -> FetchResponse:
    """A fetcher that answers from memory: any callable of this shape is a Fetcher."""
    return FetchResponse(status=200, headers={}, body=b'{"keys": []}')


def a_function_is_a_fetcher() -> None:
    fetcher: Fetcher = offline_fetcher
    issuer = Issuer.from_oidc(
        "https://login.example.com", validator=Validator(aud="api://orders"), fetcher=fetcher
    )
    assert_type(issuer, Issuer)
