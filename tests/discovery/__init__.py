"""Tests of bearerguard.discovery."""
