"""Tests of discovery: transport (_fetch), URL policy (_urls), cache headers (_caching)."""
