"""The one exception the CLI turns into a single clear line and exit status 2."""


class CoachError(Exception):
    """Bad input or setup: the message says what is wrong and what to do.

    The CLI prints it as one line on stderr and exits 2, never a traceback.
    """
