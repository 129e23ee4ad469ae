"""``python -m bearerguard``: the same as the ``bearerguard`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
