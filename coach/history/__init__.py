"""The rep's own past calls: what is kept of them, and what coaching makes of it.

What enters is a finished call's statistics, reduced to numbers and fixed labels
(:func:`coach.core.privacy.for_history`); what leaves is the stored calls, oldest
first, and what they say about the rep: baselines, trends, the best call, which
nudges the rep heeds, and the budget's inputs for the next call. ``store`` is the
on-disk database in the user's data folder, built by ``migrations``, its rows and
trend figures in ``records``; ``coaching`` is pure functions over the stored
objects.
"""
