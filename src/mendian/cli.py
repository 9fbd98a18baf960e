"""The `mendian` command: Django's manage.py, usable from any directory, with hyphenated names."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
        if argv[1] == "demo":
            # The demo is a sandbox: generated secrets, sandbox payments and SMS.
            os.environ.setdefault("MENDIAN_DEMO", "1")
            os.environ.setdefault("MENDIAN_SANDBOX", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mendian.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
