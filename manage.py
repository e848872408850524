#!/usr/bin/env python
"""Django's command-line entry point for TARSy Ops (tarsy_project.cli adds the version, the
one-line failures and exit codes, and runserver's SECRET_KEY check)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tarsy_project.settings")
    from tarsy_project.cli import main as run

    run(sys.argv)


if __name__ == "__main__":
    main()
