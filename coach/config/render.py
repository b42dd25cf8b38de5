"""The commented TOML file `coach config init` writes: every key with its reason and range."""

from __future__ import annotations

import textwrap

from coach.config.presets import PRESETS
from coach.config.schema import DEFAULTS, KEYS, TABLES, Config, config_values
from coach.config.toml_text import toml_value
from coach.config.validate import allowed

_HEADER = """\
# coach configuration (TOML)
#
# Written by `coach config init`. Every key is optional: a key that is missing
# or commented out takes the default shown on its line. To change a value,
# remove the leading "# " from its line and edit it. `coach config show` prints
# the effective values and where each came from.
#
# Presets for call types (`--preset discovery|demo|cold-call`, or coach.preset
# below) sit between the defaults and this file: a value set here wins.
#
# The comment above each key gives the reason for its default and its source:
# Gong Labs' call studies, the CANDOR corpus of video calls, turn-taking
# research (Stivers et al. 2009, Boland et al. 2022, Bögels et al. 2015), and
# measurements made on a 2-core machine for this project.
"""


def render_config_toml(config: Config | None = None, *, all_active: bool = False) -> str:
    """A fully commented TOML file for `config`; loads back to exactly `config`.

    Keys equal to the built-in default are written commented out (so presets
    still apply beneath the file); other keys, or all with `all_active`, are live.
    """
    values = config_values(config or DEFAULTS)
    # What the file would give for a key left commented out: the default, or the
    # value of the preset that the file itself names.
    baseline = {name: spec.default for name, spec in KEYS.items()}
    baseline.update(PRESETS[p].values if (p := str(values["coach.preset"])) in PRESETS else {})
    lines = [_HEADER]
    for table, about in TABLES.items():
        lines.append(f"[{table}]")
        lines.append(f"# {about}")
        for name, spec in KEYS.items():
            if spec.section != table:
                continue
            lines.append("")
            lines.extend(
                textwrap.wrap(
                    spec.why,
                    width=86,
                    initial_indent="# ",
                    subsequent_indent="# ",
                    break_on_hyphens=False,
                )
            )
            lines.append(f"# Allowed: {allowed(spec)}. Default: {toml_value(spec.default)}.")
            value = values[name]
            live = all_active or value != baseline[name]
            lines.append(f"{'' if live else '# '}{spec.key} = {toml_value(value)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
