"""Tests of bearerguard._discovery."""
