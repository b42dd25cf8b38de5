"""What people see: the live panel, the post-call report and the progress bar.

What enters is the core's statistics (``coach.stats/1``) or a live snapshot of
them, with the config's wording and language; what leaves is rich renderables
and text on the terminal, never anything on disk. ``panel`` is the live view,
``report`` the post-call figures, nudges, timeline strip and takeaways, and
``progress`` the bar ``coach analyze`` shows on a terminal.
"""
