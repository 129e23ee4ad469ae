"""Tests of bearerguard.keyset (RemoteKeySet, KeySetPolicy)."""
