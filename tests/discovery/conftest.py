from tests.support.fixtures import clock, events, fetcher, server

__all__ = ["clock", "events", "fetcher", "server"]
