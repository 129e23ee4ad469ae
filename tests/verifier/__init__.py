"""Tests of bearerguard.verifier."""
