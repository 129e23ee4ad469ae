"""``python -m bearerguard``: the same as the ``bearerguard`` command."""

from __future__ import annotations

from ._cli import main

raise SystemExit(main())
