"""Tests of bearerguard.testing: the local issuer and the pytest plugin."""
