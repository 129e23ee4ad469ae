"""The test suite, one package: helpers import as ``tests.support...``, ``tests.adapters...``."""
