#!/usr/bin/env python
"""Django's command line for the example, run as a module from the repository root.

``python -m examples.django_app.manage runserver``: ``-m`` puts the root on the import path,
so ``examples.django_app.settings`` imports without touching ``sys.path``.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
