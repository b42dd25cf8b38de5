"""What a bug prints: where it happened, never what the exception says.

An exception's message can carry anything its code held -- a transcript, the
customer's words in a nudge -- so an unexpected error is reported as its type
and the stack of code locations only, on stderr, with exit status 70
(EX_SOFTWARE). ``COACH_DEBUG=1`` shows Python's full traceback instead.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TypeVar

DEBUG_ENV = "COACH_DEBUG"
EXIT_BUG = 70

_T = TypeVar("_T")


def crash_report(exc: BaseException) -> str:
    """The exception chain as code locations and exception types, without messages."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and all(e is not c for c in chain):
        chain.append(e)
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    out = [
        f"coach: internal error ({type(exc).__name__}); please report it with the lines below. "
        f"Exception messages are left out, as they may hold words of the call "
        f"({DEBUG_ENV}=1 shows them).\n"
    ]
    for e in reversed(chain):
        out.append("Traceback (most recent call last):\n")
        out.extend(traceback.format_list(traceback.extract_tb(e.__traceback__)))
        out.append(f"{type(e).__module__}.{type(e).__qualname__}\n")
    return "".join(out)


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
        sys.stderr.write(crash_report(args.exc_value))


def run_reporting_bugs(main: Callable[[], _T]) -> _T:
    """Run ``main``; a bug in it (or in one of its threads) is reported by :func:`crash_report`."""
    if debugging():
        return main()
    threading.excepthook = _thread_hook
    try:
        return main()
    except Exception as e:  # noqa: BLE001 - a bug: report where, never what it said
        sys.stderr.write(crash_report(e))
        sys.stderr.flush()
        raise SystemExit(EXIT_BUG) from None
