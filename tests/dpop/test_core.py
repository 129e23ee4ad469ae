"""The DPoP core: Verifier(dpop=...), DPoPPolicy, replay caches, nonces, htu normalisation."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bearerguard import (
    ConfigurationError,
    DPoPPolicy,
    DPoPRequest,
    GuardSettings,
    InvalidDPoPProof,
    InvalidToken,
    MemoryReplayCache,
    UseDPoPNonce,
    Validator,
)
from bearerguard._dpop import DPoPNonces
from bearerguard._dpop_url import normalized_htu
from bearerguard._http import error_response
from bearerguard._issuer import Issuer
from bearerguard.keyset import KeySetPolicy
from bearerguard.testing import DPoPKey, LocalIssuer
from bearerguard.verifier import Verifier

from ..adapters.cases import AUDIENCE

URL = "https://api.example.com/orders"


def _verifier(issuer: LocalIssuer, **options: Any) -> Verifier[Any]:
    source = Issuer.from_oidc(
        issuer.url,
        validator=Validator(aud=AUDIENCE),
        policy=KeySetPolicy(require_https=False),
        lazy=True,
    )
    return Verifier([source], **options)


def _request(key: DPoPKey, token: str, **options: Any) -> DPoPRequest:
    return DPoPRequest("GET", URL, (key.proof("GET", URL, access_token=token, **options),))


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        pytest.param("https://api.example.com/orders", "https://api.example.com/orders", id="same"),
        pytest.param("HTTPS://API.Example.COM/orders", "https://api.example.com/orders", id="case"),
        pytest.param(
            "https://api.example.com:443/orders", "https://api.example.com/orders", id="port"
        ),
        pytest.param("http://api.example.com:80/", "http://api.example.com/", id="http-port"),
        pytest.param(
            "https://api.example.com:8443/a", "https://api.example.com:8443/a", id="other-port"
        ),
        pytest.param("https://api.example.com", "https://api.example.com/", id="empty-path"),
        pytest.param("https://h/a/./b/../c", "https://h/a/c", id="dot-segments"),
        pytest.param("https://h/%7euser/%2f", "https://h/~user/%2F", id="percent-encoding"),
        pytest.param("https://h/p?q=1#f", "https://h/p", id="query-fragment"),
        pytest.param("https://[::1]:8443/p", "https://[::1]:8443/p", id="ipv6"),
        pytest.param("ftp://h/p", None, id="not-http"),
        pytest.param("https://user:pw@h/p", None, id="userinfo"),
        pytest.param("https://h:99999/p", None, id="bad-port"),
    ],
)
def test_htu_normalisation(url: str, normalised: str | None) -> None:
    """RFC 3986 §6 syntax- and scheme-based normalisation, without query and fragment."""
    assert normalized_htu(url) == normalised


def test_cache_hit_still_needs_a_proof(local_issuer: LocalIssuer, client_key: DPoPKey) -> None:
    """A DPoP-bound token served from the verified-token cache is refused without a proof."""
    verifier = _verifier(local_issuer, dpop="allowed")
    token = local_issuer.mint(cnf=client_key.cnf)
    verifier.verify(token, dpop=_request(client_key, token))
    with pytest.raises(InvalidToken, match=r"^DPoP-bound token presented without a DPoP proof$"):
        verifier.verify(token)
    verifier.verify(token, dpop=_request(client_key, token))
    assert verifier.cache_info().hits == 2


def test_cache_hit_still_checks_the_proof_key(
    local_issuer: LocalIssuer, client_key: DPoPKey, other_key: DPoPKey
) -> None:
    """A cached bound token presented with another key's proof is refused."""
    verifier = _verifier(local_issuer, dpop="allowed")
    token = local_issuer.mint(cnf=client_key.cnf)
    verifier.verify(token, dpop=_request(client_key, token))
    with pytest.raises(InvalidToken, match=r"^DPoP proof key does not match the token's cnf\.jkt$"):
        verifier.verify(token, dpop=_request(other_key, token))


def test_required_mode_refuses_a_token_without_proof(local_issuer: LocalIssuer) -> None:
    """Verifier(dpop="required"): verify(token) of a plain token is refused."""
    verifier = _verifier(local_issuer, dpop="required")
    with pytest.raises(
        InvalidToken, match=r"^token must be presented with the DPoP scheme and a proof$"
    ):
        verifier.verify(local_issuer.mint())


def test_off_mode_refuses_a_dpop_request(local_issuer: LocalIssuer, client_key: DPoPKey) -> None:
    """Verifier() (dpop="off"): a DPoPRequest is refused, never ignored."""
    token = local_issuer.mint(cnf=client_key.cnf)
    with pytest.raises(InvalidToken, match=r"^DPoP is not accepted here"):
        _verifier(local_issuer).verify(token, dpop=_request(client_key, token))


def test_algorithm_outside_the_allow_list_is_refused(local_issuer: LocalIssuer) -> None:
    """DPoPPolicy(algorithms=["ES256"]): an ES384 proof is refused."""
    key = DPoPKey("ES384")
    verifier = _verifier(local_issuer, dpop="allowed", dpop_policy=DPoPPolicy(algorithms=["ES256"]))
    token = local_issuer.mint(cnf=key.cnf)
    with pytest.raises(InvalidDPoPProof, match=r"^DPoP proof algorithm 'ES384' is not allowed$"):
        verifier.verify(token, dpop=_request(key, token))


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "PS256", "RS256", "EdDSA"])
def test_each_default_algorithm_is_accepted(local_issuer: LocalIssuer, alg: str) -> None:
    """Proofs by the kit's keys of each kind verify with the default policy."""
    key = DPoPKey(alg)
    token = local_issuer.mint(cnf=key.cnf)
    claims = _verifier(local_issuer, dpop="allowed").verify(token, dpop=_request(key, token))
    assert claims.raw["cnf"] == {"jkt": key.thumbprint}


def test_memory_replay_cache_is_bounded() -> None:
    """Past max_entries the oldest ids are dropped first, and a dropped id is not reopened."""
    cache = MemoryReplayCache(max_entries=2, clock=lambda: 1000.0)
    assert [cache.first_use(k, 60) for k in ("a", "b", "c")] == [True, True, True]
    assert len(cache) == 2
    assert (cache.first_use("b", 60), cache.first_use("a", 60)) == (False, False)


def test_a_full_memory_replay_cache_takes_ids_whose_window_ends_later() -> None:
    """Once ids were dropped, a new id is taken only if its ttl ends after theirs did."""
    now = [1000.0]
    cache = MemoryReplayCache(max_entries=1, clock=lambda: now[0])
    assert cache.first_use("a", 60)
    assert cache.first_use("b", 60)  # drops "a", remembered until 1060
    assert not cache.first_use("a", 60)  # "a" replayed: its window ends at 1060 too
    assert not cache.first_use("c", 59)  # a proof whose window ends sooner may be a dropped one
    now[0] = 1001.0
    assert cache.first_use("d", 60)  # a fresher proof (window to 1061) is taken


def test_memory_replay_cache_forgets_after_ttl() -> None:
    """An id is refused while remembered, accepted again once its ttl has passed."""
    now = [1000.0]
    cache = MemoryReplayCache(clock=lambda: now[0])
    assert cache.first_use("a", 10) is True
    assert cache.first_use("a", 10) is False
    now[0] += 10
    assert cache.first_use("a", 10) is True


def test_nonce_of_the_previous_window_is_accepted() -> None:
    """A nonce lives from one to two lifetimes; older ones are refused."""
    nonces = DPoPNonces(b"s" * 32, 300.0)
    issued = nonces.current(1000.0)
    assert nonces.accepts(issued, 1000.0 + 300)
    assert not nonces.accepts(issued, 1000.0 + 600)
    assert not DPoPNonces(b"t" * 32, 300.0).accepts(issued, 1000.0)


def test_use_dpop_nonce_carries_the_current_nonce(
    local_issuer: LocalIssuer, client_key: DPoPKey
) -> None:
    """A proof without nonce: UseDPoPNonce whose nonce the retry may carry."""
    verifier = _verifier(
        local_issuer, dpop="allowed", dpop_policy=DPoPPolicy(nonce_secret="k" * 32)
    )
    token = local_issuer.mint(cnf=client_key.cnf)
    with pytest.raises(UseDPoPNonce) as caught:
        verifier.verify(token, dpop=_request(client_key, token))
    claims = verifier.verify(token, dpop=_request(client_key, token, nonce=caught.value.nonce))
    assert claims.sub == "test-user"


def test_use_dpop_nonce_response_has_the_nonce_header() -> None:
    """The rendering: 401 use_dpop_nonce, DPoP challenge, DPoP-Nonce header."""
    response = error_response(
        UseDPoPNonce("DPoP proof needs the server's current nonce", "N" * 32), dpop_algs="ES256"
    )
    headers = dict(response.headers)
    assert response.status == 401
    assert headers["dpop-nonce"] == "N" * 32
    assert headers["www-authenticate"] == (
        'DPoP error="use_dpop_nonce", '
        'error_description="DPoP proof needs the server\'s current nonce", algs="ES256"'
    )


def test_proof_from_the_future_within_leeway_is_accepted(
    local_issuer: LocalIssuer, client_key: DPoPKey
) -> None:
    """iat up to the leeway ahead of the clock passes (clock skew)."""
    verifier = _verifier(local_issuer, dpop="allowed")
    token = local_issuer.mint(cnf=client_key.cnf)
    request = _request(client_key, token, iat=time.time() + 3)
    assert verifier.verify(token, dpop=request).sub == "test-user"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"algorithms": ["HS256"]}, "DPoPPolicy(algorithms=)", id="symmetric-alg"),
        pytest.param({"algorithms": []}, "DPoPPolicy(algorithms=)", id="no-alg"),
        pytest.param({"nonce_secret": "short"}, "at least 32 bytes", id="short-secret"),
        pytest.param({"replay_cache": object()}, "first_use(key, ttl)", id="bad-cache"),
        pytest.param({"max_age": 0}, "must be > 0", id="zero-max-age"),
        pytest.param({"max_proof_size": 10}, "max_proof_size", id="tiny-size"),
    ],
)
def test_policy_misconfiguration_says_what_to_fix(options: dict[str, Any], message: str) -> None:
    """Each wrong DPoPPolicy field is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DPoPPolicy(**options)


def test_secret_is_not_in_the_repr() -> None:
    """The nonce secret never shows in repr or logs."""
    assert "k" * 32 not in repr(DPoPPolicy(nonce_secret="k" * 32))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"dpop": "on"}, "dpop= must be 'off', 'allowed' or 'required'", id="mode"),
        pytest.param({"external_url": "https://api.example.com/?x=1"}, "external_url=", id="query"),
        pytest.param({"external_url": "api.example.com"}, "external_url=", id="no-scheme"),
        pytest.param({"dpop_policy": {"NONCE_SECRETS": "x"}}, "NONCE_SECRET", id="policy-typo"),
    ],
)
def test_settings_misconfiguration_says_what_to_fix(options: dict[str, Any], message: str) -> None:
    """dpop=, external_url= and dpop_policy= are checked at start-up."""
    with pytest.raises(ConfigurationError, match=message.replace("?", r"\?")):
        GuardSettings(oidc="https://login.example.com", audience="api", **options)


def test_verifier_mode_is_checked() -> None:
    """Verifier(dpop=...) takes only the three modes."""
    issuer = Issuer.from_oidc("https://login.example.com", validator=Validator(aud="a"), lazy=True)
    with pytest.raises(ConfigurationError, match=r"^dpop must be 'off', 'allowed' or 'required'$"):
        Verifier([issuer], dpop="yes")


def test_local_issuer_mints_a_token_bound_to_a_kit_key(
    local_issuer: LocalIssuer, client_key: DPoPKey
) -> None:
    """LocalIssuer.mint(dpop_key=key): cnf.jkt is the key's thumbprint, and its proofs pass."""
    token = local_issuer.mint(dpop_key=client_key, cnf={"x-other": "kept"})
    verifier = _verifier(local_issuer, dpop="allowed")
    with pytest.raises(InvalidToken):  # the other cnf member is not one bearerguard checks
        verifier.verify(token, dpop=_request(client_key, token))
    token = local_issuer.mint(dpop_key=client_key)
    claims = verifier.verify(token, dpop=_request(client_key, token))
    assert claims.raw["cnf"] == {"jkt": client_key.thumbprint}


def test_unusable_request_url_never_matches(local_issuer: LocalIssuer, client_key: DPoPKey) -> None:
    """A request URL that does not parse (a garbage Host) matches no htu, not even a garbage one."""
    verifier = _verifier(local_issuer, dpop="allowed")
    token = local_issuer.mint(cnf=client_key.cnf)
    proof = client_key.proof("GET", "http://bad host/orders", access_token=token)
    with pytest.raises(InvalidDPoPProof, match=r"^DPoP proof htu does not match the request URL$"):
        verifier.verify(token, dpop=DPoPRequest("GET", "http://bad host/orders", (proof,)))


def test_proof_key_is_checked_even_when_the_validator_allows_bound_tokens(
    local_issuer: LocalIssuer, client_key: DPoPKey, other_key: DPoPKey
) -> None:
    """Validator(allow_sender_constrained=True) with DPoP on: another key's proof is refused."""
    source = Issuer.from_oidc(
        local_issuer.url,
        validator=Validator(aud=AUDIENCE, allow_sender_constrained=True),
        policy=KeySetPolicy(require_https=False),
        lazy=True,
    )
    verifier = Verifier([source], dpop="allowed")
    token = local_issuer.mint(cnf=client_key.cnf)
    with pytest.raises(InvalidToken, match=r"^DPoP proof key does not match the token's cnf\.jkt$"):
        verifier.verify(token, dpop=_request(other_key, token))
    assert verifier.verify(token, dpop=_request(client_key, token)).sub == "test-user"


@pytest.mark.parametrize(
    ("claims", "error", "message"),
    [
        pytest.param(
            {"ath": "\u00e9" * 43},
            InvalidDPoPProof,
            "^DPoP proof ath does not match the access token$",
            id="non-ascii-ath",
        ),
        pytest.param(
            {"nonce": "\u00e9" * 32},
            UseDPoPNonce,
            "^DPoP proof needs the server's current nonce$",
            id="non-ascii-nonce",
        ),
    ],
)
def test_non_ascii_members_are_refused_not_crashed(
    local_issuer: LocalIssuer,
    client_key: DPoPKey,
    claims: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    """A JSON escape can put non-ASCII text in a proof: refused, never a TypeError (500)."""
    verifier = _verifier(
        local_issuer, dpop="allowed", dpop_policy=DPoPPolicy(nonce_secret="k" * 32)
    )
    token = local_issuer.mint(cnf=client_key.cnf)
    with pytest.raises(error, match=message):
        verifier.verify(token, dpop=_request(client_key, token, claims=claims))


def test_non_ascii_cnf_jkt_is_no_binding(local_issuer: LocalIssuer, client_key: DPoPKey) -> None:
    """A token whose cnf.jkt is not ASCII text is refused as not DPoP-bound, not a TypeError."""
    verifier = _verifier(local_issuer, dpop="allowed")
    token = local_issuer.mint(cnf={"jkt": "\u00e9" * 43})
    with pytest.raises(InvalidToken, match=r"^token is not DPoP-bound"):
        verifier.verify(token, dpop=_request(client_key, token))


def _certificate() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.PEM).decode()


def test_token_bound_by_dpop_and_certificate_needs_both(
    local_issuer: LocalIssuer, client_key: DPoPKey
) -> None:
    """cnf with jkt and x5t#S256: the DPoP proof and the client certificate are both required."""
    pem = _certificate()
    verifier = _verifier(local_issuer, dpop="allowed", mtls=True)
    token = local_issuer.mint(dpop_key=client_key, certificate=pem)
    claims = verifier.verify(token, client_certificate=pem, dpop=_request(client_key, token))
    assert set(claims.raw["cnf"]) == {"jkt", "x5t#S256"}
    with pytest.raises(InvalidToken):
        verifier.verify(token, dpop=_request(client_key, token))  # no certificate
    with pytest.raises(InvalidToken, match=r"^DPoP-bound token presented without a DPoP proof$"):
        verifier.verify(token, client_certificate=pem)
