"""Security and robustness suite: attack catalogue, property fuzzing, identity-provider faults.

Nothing here may touch an address other than 127.0.0.1: redirects and ``jku``
URLs point at :class:`~security.support.TrapServer` (which only counts
connections) or at names that the loopback-only fetcher refuses before any
lookup.
"""
