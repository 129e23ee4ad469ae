"""Tests of bearerguard.issuing and the bearerguard CLI."""
