"""Typed uses of the public API, checked by ``mypy --strict`` (``mypy src tests``).

Each module holds functions that are never called: mypy checks that the public
API's types say what the docs say (``assert_type``), and a change to an
annotation that would break a user's type-checked code fails the type check.
The modules are not named ``test_*.py``, so pytest does not collect them; they
import without side effects.
"""
