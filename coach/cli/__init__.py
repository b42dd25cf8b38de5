"""The ``coach`` command: parses arguments, wires the stages, and reports errors.

What enters is the command line (``analyze``, ``demo``, ``start``, ``config``,
``history``, ``models``, ``devices``); what leaves is the report, JSON, panel or
one clear error line with a non-zero exit status. ``app`` holds the top-level
commands and the shared user-error handling, ``config_cmd``, ``history_cmd`` and
``models_cmd`` their subcommands (``history_views`` draws what `coach history`
shows), ``timeline_file`` reads speaker timelines,
``crash`` prints a bug without its message, and ``conformance`` checks the
timeline stage against the contract's cases.
"""

from coach.cli.app import main

__all__ = ["main"]
