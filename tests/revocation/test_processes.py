"""Two real processes see a revocation within the configured staleness (measured)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bearerguard import Revocations
from bearerguard.testing import LocalIssuer

from .conftest import AUDIENCE

pytestmark = [pytest.mark.redis, pytest.mark.slow]

STALENESS = 1.0
#: Scheduling slack on a busy test machine, beyond the staleness itself.
SLACK = 1.0

WORKER = """
import sys, time
from bearerguard import Issuer, Revocations, TokenRevoked, Validator
from bearerguard.verifier import Verifier

url, prefix, issuer, audience, token, staleness = sys.argv[1:7]
revocations = Revocations.from_url(url, prefix=prefix, staleness=float(staleness))
verifier = Verifier(
    [Issuer.from_oidc(issuer, validator=Validator(aud=audience), lazy=True)],
    revocations=revocations,
)
verifier.verify(token)
print("ready", flush=True)
deadline = time.time() + 30
while time.time() < deadline:
    try:
        verifier.verify(token)
    except TokenRevoked:
        print(f"refused {time.time():.6f}", flush=True)
        break
    time.sleep(0.002)
else:
    print("never refused", flush=True)
"""


def test_two_processes_refuse_a_revoked_token_within_the_staleness(
    redis_url: str, prefix: str, local_issuer: LocalIssuer
) -> None:
    """Revoked at t: each worker process refuses by t + staleness (plus scheduling slack)."""
    token = local_issuer.mint(sub="alice", iat=int(time.time()) - 10)
    args = [redis_url, prefix, local_issuer.url, AUDIENCE, token, str(STALENESS)]
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, *args], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline() == "ready\n"
        time.sleep(STALENESS / 2)  # somewhere inside each worker's staleness window
        Revocations.from_url(redis_url, prefix=prefix).revoke_subject("alice")
        revoked_at = time.time()
        delays = []
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline().split()
            assert line[0] == "refused"
            delays.append(float(line[1]) - revoked_at)
    finally:
        for worker in workers:
            worker.wait(timeout=60)
            if worker.stdout is not None:
                worker.stdout.close()
    print(f"revocation seen after {', '.join(f'{d:.3f}' for d in delays)} s")
    assert all(delay < STALENESS + SLACK for delay in delays), delays
