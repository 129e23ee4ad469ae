"""Replay across instances: a proof used on one process is refused on another (RFC 9449 §11.1).

Both processes verify with ``Verifier(dpop="allowed", redis_url=...)`` against
one real redis-server on 127.0.0.1: the second is a separate Python process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bearerguard import DPoPPolicy, DPoPRequest, InvalidDPoPProof, RedisReplayCache, Validator
from bearerguard._issuer import Issuer
from bearerguard.keyset import KeySetPolicy
from bearerguard.testing import DPoPKey, LocalIssuer
from bearerguard.verifier import Verifier

from ..adapters.cases import AUDIENCE
from ..issuing.redis_server import redis_server

URL = "https://api.example.com/orders"

SECOND_PROCESS = textwrap.dedent(
    """
    import sys
    from bearerguard import DPoPRequest, InvalidDPoPProof, Issuer, Validator, Verifier
    from bearerguard.keyset import KeySetPolicy

    issuer_url, redis_url, token, proof, audience, url = sys.argv[1:7]
    issuer = Issuer.from_oidc(
        issuer_url,
        validator=Validator(aud=audience),
        policy=KeySetPolicy(require_https=False),
        lazy=True,
    )
    verifier = Verifier([issuer], dpop="allowed", redis_url=redis_url)
    try:
        verifier.verify(token, dpop=DPoPRequest("GET", url, (proof,)))
    except InvalidDPoPProof as error:
        print("refused:", error.description)
    else:
        print("accepted")
    """
)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path, dedicated=True) as url:
        yield url


def _verifier(issuer: LocalIssuer, **options: Any) -> Verifier[Any]:
    source = Issuer.from_oidc(
        issuer.url,
        validator=Validator(aud=AUDIENCE),
        policy=KeySetPolicy(require_https=False),
        lazy=True,
    )
    return Verifier([source], dpop="allowed", **options)


def _second_process(issuer: LocalIssuer, redis_url: str, token: str, proof: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, issuer.url, redis_url, token, proof, AUDIENCE, URL],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_proof_used_here_is_refused_by_another_process(
    local_issuer: LocalIssuer, client_key: DPoPKey, redis_url: str
) -> None:
    """Accepted by this process, the same proof is a replay for a second one on the same Redis."""
    token = local_issuer.mint(cnf=client_key.cnf)
    proof = client_key.proof("GET", URL, access_token=token)
    verifier = _verifier(local_issuer, redis_url=redis_url)
    assert verifier.verify(token, dpop=DPoPRequest("GET", URL, (proof,))).sub == "test-user"
    answer = _second_process(local_issuer, redis_url, token, proof)
    assert answer == "refused: DPoP proof has been used before (jti replay)"


def test_fresh_proof_is_accepted_by_the_other_process(
    local_issuer: LocalIssuer, client_key: DPoPKey, redis_url: str
) -> None:
    """The shared cache refuses replays only: a new proof passes in the second process."""
    token = local_issuer.mint(cnf=client_key.cnf)
    proof = client_key.proof("GET", URL, access_token=token)
    assert _second_process(local_issuer, redis_url, token, proof) == "accepted"


def test_async_verification_records_in_redis(
    local_issuer: LocalIssuer, client_key: DPoPKey, redis_url: str
) -> None:
    """averify records the proof off the event loop; a replay to a second verifier is refused."""
    token = local_issuer.mint(cnf=client_key.cnf)
    proof = client_key.proof("GET", URL, access_token=token)
    request = DPoPRequest("GET", URL, (proof,))
    first = _verifier(local_issuer, redis_url=redis_url)
    second = _verifier(
        local_issuer, dpop_policy=DPoPPolicy(replay_cache=RedisReplayCache(redis_url))
    )
    assert asyncio.run(first.averify(token, dpop=request)).sub == "test-user"
    with pytest.raises(InvalidDPoPProof, match=r"^DPoP proof has been used before \(jti replay\)$"):
        asyncio.run(second.averify(token, dpop=request))


def test_replay_cache_down_refuses_with_503(local_issuer: LocalIssuer, client_key: DPoPKey) -> None:
    """A replay check that cannot be made is never skipped: Redis down → KeySetUnavailable (503)."""
    from bearerguard import KeySetUnavailable

    verifier = _verifier(local_issuer, redis_url="redis://127.0.0.1:9/0")
    token = local_issuer.mint(cnf=client_key.cnf)
    proof = client_key.proof("GET", URL, access_token=token)
    with pytest.raises(KeySetUnavailable, match=r"^DPoP replay cache unavailable$"):
        verifier.verify(token, dpop=DPoPRequest("GET", URL, (proof,)))
