"""The one compiled piece: coach/audio/_pulse_drain.c (see there). Optional: without a C
compiler the install still succeeds and coach/audio/pulse_stream.py drains streams in Python."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("coach.audio._pulse_drain", ["coach/audio/_pulse_drain.c"], optional=True)
    ]
)
