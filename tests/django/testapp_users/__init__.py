"""User models whose usernames the database compares its own way (``AUTH_USER_MODEL`` in tests).

Each stands for a real deployment where a lookup by username can find a
different name than the one asked for.
"""
