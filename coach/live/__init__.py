"""The live call: capture, the core and the panel, running together in real time.

What enters is the two live inputs (or a recorded call played at its own pace
for ``coach demo``) and the loaded config; what leaves is the panel on the
terminal, the nudges the budget shows (on screen, stderr or the desktop), the
events and final statistics when asked, and the call's numbers for the history.
``session`` is the loop: it feeds blocks to the same pipeline ``analyze`` uses,
so everything it decides is on audio time; only delivery looks at the clock.
``sources`` says where the audio comes from (the protocol, a replayed recording),
``devices`` opens and lists the live inputs, ``delivery`` turns nudges into what
the rep sees and the events, ``signals`` turns Ctrl-C into a stop, ``wiring`` is
the CLI's choice of outputs and ``meter`` shows the inputs' levels.
"""
