"""``python -m coach.cli``: the same as the ``coach`` command."""

from coach.cli.app import main

main()
