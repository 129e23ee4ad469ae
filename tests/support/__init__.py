"""Helpers shared by the key set, discovery and verifier tests."""
