"""Tests of the core verifier: vectors, attacks, validation, claims."""
