"""coach: a live attention coach for sales calls (see README.md)."""

__version__ = "0.1.0"
