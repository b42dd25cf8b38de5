"""`make bench`: speed, latency and memory, kept out of the installed package."""
