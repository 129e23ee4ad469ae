"""Tests of the framework adapters (Starlette/FastAPI, Flask, WSGI) and their shared table."""
