"""Hostile DPoP proofs: whatever the header holds, the answer is a refusal, never a crash.

Any text, any JSON header and claims around a real key, and mutations of a valid
proof are checked by ``DPoPPolicy.check_proof``: the only errors it may raise are
``InvalidDPoPProof`` (and ``UseDPoPNonce``, one of them), so an adapter answers 401.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bearerguard import DPoPPolicy, InvalidDPoPProof
from bearerguard.testing import DPoPKey

URL = "https://api.example.com/orders"
TOKEN = "header.payload.signature"
KEY = DPoPKey()
POLICY = DPoPPolicy(nonce_secret="f" * 32)

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
members = {
    "typ": st.one_of(st.just("dpop+jwt"), json_values),
    "alg": st.one_of(st.sampled_from(["ES256", "none", "HS256", "RS256", "EdDSA"]), json_values),
    "jwk": st.one_of(st.just(KEY.jwk), json_values),
    "htm": st.one_of(st.just("GET"), json_values),
    "htu": st.one_of(st.just(URL), st.text(max_size=60), json_values),
    "iat": st.one_of(st.just(int(time.time())), json_values),
    "jti": st.one_of(st.just("j"), json_values),
    "ath": st.one_of(st.text(max_size=50), json_values),
    "nonce": st.one_of(st.text(max_size=40), json_values),
}


def _b64(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _refused_only(proof: str) -> None:
    with contextlib.suppress(InvalidDPoPProof):  # UseDPoPNonce is one too
        POLICY.check_proof([proof], method="GET", url=URL, access_token=TOKEN, now=time.time())


@FUZZ
@given(st.text(max_size=300))
def test_any_text_is_refused(proof: str) -> None:
    """Arbitrary header text: InvalidDPoPProof, nothing else."""
    _refused_only(proof)


@FUZZ
@given(
    st.fixed_dictionaries({}, optional={k: members[k] for k in ("typ", "alg", "jwk")}),
    st.fixed_dictionaries({}, optional={k: members[k] for k in members if k not in ("typ",)}),
    st.binary(max_size=80),
)
def test_any_json_proof_is_refused(header: Any, claims: Any, signature: bytes) -> None:
    """Any JSON header and claims with any signature bytes: InvalidDPoPProof, nothing else."""
    encoded = base64.urlsafe_b64encode(signature).rstrip(b"=").decode() or "AA"
    _refused_only(f"{_b64(header)}.{_b64(claims)}.{encoded}")


@FUZZ
@given(st.data())
def test_mutated_valid_proof_is_refused_or_accepted(data: st.DataObject) -> None:
    """One character of a valid proof changed: refused with InvalidDPoPProof, or still valid."""
    proof = KEY.proof("GET", URL, access_token=TOKEN)
    index = data.draw(st.integers(0, len(proof) - 1))
    char = data.draw(st.characters(codec="utf-8"))
    _refused_only(proof[:index] + char + proof[index + 1 :])


@FUZZ
@given(
    st.fixed_dictionaries(
        {}, optional={k: members[k] for k in members if k not in ("typ", "alg", "jwk")}
    )
)
def test_any_signed_claims_are_refused_or_accepted(claims: dict[str, Any]) -> None:
    """Any claims, correctly signed by the jwk's key: InvalidDPoPProof, or a valid proof."""
    full = {name: claims.get(name) for name in ("htm", "htu", "iat", "jti", "ath", "nonce")}
    _refused_only(KEY.proof("GET", URL, claims=full))
