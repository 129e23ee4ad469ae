"""Tests of bearerguard.django, with Django configured once by conftest.py."""
