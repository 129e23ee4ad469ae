"""Tests of the example apps (imported from the repository root as ``examples...``)."""
