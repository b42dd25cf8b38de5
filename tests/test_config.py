"""Config (coach/config/, coach/cli/config_cmd.py): defaults, layering, errors, CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from pathlib import Path
from typing import Any

import pytest
import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coach.cli.config_cmd import config_app
from coach.config import (
    DEFAULTS,
    KEYS,
    PRESETS,
    SECTION_CLASSES,
    TABLES,
    Config,
    KeySpec,
    LoadedConfig,
    NudgesConfig,
    Source,
    TurnsConfig,
    check_config,
    config_from_data,
    config_values,
    default_config_path,
    load_config,
    model_name,
    override,
    render_config_toml,
    speech_language,
)
from coach.errors import CoachError


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the real user's config: the default location is in tmp."""
    monkeypatch.setenv("COACH_CONFIG", str(tmp_path / "home" / "coach" / "config.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str, preset: str | None = None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(CoachError) as info:
        load_config(path, preset)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    return message


# ---------------------------------------------------------------- defaults


def test_defaults_are_the_numbers_of_metrics_md() -> None:
    c = DEFAULTS
    assert c.vad.merge_gap_s == 0.3
    assert c.vad.backend == "silero"
    assert c.vad.mode == 3
    assert c.vad.frame_ms == 30
    assert c.turns.utterance_gap_s == 0.7
    assert c.turns.backchannel_max_s == 1.0
    assert c.turns.floor_gap_s == 2.0
    assert c.nudges.acknowledge_after_s == 20
    assert c.nudges.pause_s == 0.3
    assert c.nudges.max_wait_s == 3
    assert c.nudges.deepen_pause_s == 1.0
    assert c.nudges.deepen_after_story_s == 30
    assert c.nudges.summarise_every_s == 540
    assert c.nudges.summarise_silence_s == 0.5
    assert c.nudges.rep_monologue_max_s == 60
    assert c.nudges.talk_ratio_window_s == 180
    assert c.nudges.talk_ratio_max == 0.65
    assert c.nudges.heed_window_s == 15
    assert c.report.min_monologue_s == 10
    assert c.report.patience_max_s == 5
    assert c.coach.language == "en"
    assert c.coach.preset == ""
    assert c.audio.mic == ""
    assert c.audio.loopback == ""
    assert c.audio.echo_cancellation == "auto"
    assert c.live.bell is True
    assert c.live.desktop_notifications is True
    assert c.live.refresh_hz == 4
    assert c.transcribe.enabled is True
    assert c.transcribe.model == ""  # the default for the speech language
    assert c.transcribe.language == ""  # coach.language
    assert c.transcribe.threads == 1
    assert c.transcribe.beam_size == 1
    assert c.history.enabled is True
    assert Config() == DEFAULTS


def test_dataclasses_and_key_table_agree() -> None:
    assert list(TABLES) == list(SECTION_CLASSES) == [f.name for f in dataclasses.fields(Config)]
    for section, cls in SECTION_CLASSES.items():
        hints = typing.get_type_hints(cls)
        fields = [f.name for f in dataclasses.fields(cls)]
        specs = [spec for spec in KEYS.values() if spec.section == section]
        assert fields == [spec.key for spec in specs]
        for spec in specs:
            assert hints[spec.key] is spec.kind, spec.name
    assert config_values(DEFAULTS) == {name: spec.default for name, spec in KEYS.items()}
    for name, value in config_values(DEFAULTS).items():
        assert type(value) is KEYS[name].kind, name


def test_every_key_has_a_reason_and_its_default_is_allowed() -> None:
    check_config(DEFAULTS)
    for spec in KEYS.values():
        assert len(spec.why) > 30, spec.name
        if spec.kind in (int, float) and not spec.choices:
            assert spec.min is not None and spec.max is not None, spec.name
        if spec.name.endswith("_s") and spec.min is not None:
            assert spec.min >= 0, spec.name
    ratio = KEYS["nudges.talk_ratio_max"]
    assert (ratio.min, ratio.min_open, ratio.max) == (0.0, True, 1.0)
    assert "25,537" in ratio.why and "43:57" in ratio.why and "65 %" in ratio.why
    assert "50 s" in KEYS["nudges.deepen_after_story_s"].why
    assert "200 ms" in KEYS["nudges.pause_s"].why and "Stivers" in KEYS["nudges.pause_s"].why
    assert "CANDOR" in KEYS["nudges.acknowledge_after_s"].why
    assert isinstance(KEYS["vad.mode"], KeySpec)


def test_every_reason_names_the_source_its_key_declares() -> None:
    says = {
        Source.CONTRACT: "metrics contract",
        Source.MEASURED: "measured",
        Source.CHOICE: "project choice",
    }
    cites = re.compile(r"\b(19|20)\d\d\b|Gong|CANDOR|Truly")
    for spec in KEYS.values():
        assert spec.source, spec.name
        for source in spec.source:
            if source is Source.RESEARCH:
                assert cites.search(spec.why), spec.name
            elif source in says:
                assert says[source] in spec.why, spec.name
        if spec.source == (Source.DESIGN,):  # nothing to cite: then it must not claim a figure
            assert "measured" not in spec.why and not cites.search(spec.why), spec.name


# ---------------------------------------------------------------- render / init


def test_rendered_file_loads_back_to_exactly_the_defaults(tmp_path: Path) -> None:
    text = render_config_toml()
    assert "every key is optional" in text.lower()
    for table in TABLES:
        assert f"[{table}]" in text
    for spec in KEYS.values():
        assert f"\n# {spec.key} = " in text, spec.name  # commented out at its default
    assert "25,537" in text and "43:57" in text and "Stivers" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    loaded = load_config(write(tmp_path, text))
    assert loaded.config == DEFAULTS
    assert set(loaded.sources.values()) == {"default"}


def test_rendered_file_with_every_key_live_loads_back(tmp_path: Path) -> None:
    text = render_config_toml(all_active=True)
    assert tomllib.loads(text)["nudges"]["talk_ratio_max"] == 0.65
    loaded = load_config(write(tmp_path, text))
    assert loaded.config == DEFAULTS
    assert set(loaded.sources.values()) == {str(tmp_path / "config.toml")}


def test_a_changed_config_renders_its_changes_live(tmp_path: Path) -> None:
    changed = dataclasses.replace(
        DEFAULTS,
        nudges=NudgesConfig(talk_ratio_max=0.5),
        turns=TurnsConfig(floor_gap_s=2.5),
    )
    text = render_config_toml(changed)
    assert "\ntalk_ratio_max = 0.5\n" in text and "\nfloor_gap_s = 2.5\n" in text
    assert "\n# pause_s = 0.3\n" in text
    assert load_config(write(tmp_path, text)).config == changed


# ---------------------------------------------------------------- layering


def test_presets_set_the_talk_ratio_of_defaults_md() -> None:
    expected = {"discovery": 0.55, "demo": 0.70, "cold-call": 0.65}
    for name, ratio in expected.items():
        loaded = load_config(None, name)
        assert loaded.config.nudges.talk_ratio_max == ratio
        assert loaded.sources["nudges.talk_ratio_max"] == f"preset {name}"
        assert loaded.preset == name
        assert loaded.config.coach.preset == name
    assert set(PRESETS) == set(expected)


def test_the_users_file_wins_over_the_preset(tmp_path: Path) -> None:
    path = write(tmp_path, "[nudges]\ntalk_ratio_max = 0.6\n")
    loaded = load_config(path, "discovery")
    assert loaded.config.nudges.talk_ratio_max == 0.6
    assert loaded.sources["nudges.talk_ratio_max"] == str(path)


def test_a_preset_named_in_the_file_applies_and_the_command_line_wins(tmp_path: Path) -> None:
    path = write(tmp_path, '[coach]\npreset = "discovery"\n')
    loaded = load_config(path)
    assert loaded.config.nudges.talk_ratio_max == 0.55
    assert loaded.sources["nudges.talk_ratio_max"] == "preset discovery"
    assert loaded.sources["coach.preset"] == str(path)
    loaded = load_config(path, "demo")
    assert loaded.config.nudges.talk_ratio_max == 0.70
    assert loaded.config.coach.preset == "demo"
    assert loaded.sources["coach.preset"] == "--preset"


def test_sources_name_default_preset_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[nudges]\npause_s = 0.4\n[vad]\nmode = 2\n")
    loaded = load_config(path, "discovery")
    assert loaded.path == path
    assert loaded.config.nudges.pause_s == 0.4
    assert loaded.config.vad.mode == 2
    assert loaded.sources["nudges.pause_s"] == str(path)
    assert loaded.sources["vad.mode"] == str(path)
    assert loaded.sources["nudges.talk_ratio_max"] == "preset discovery"
    assert loaded.sources["turns.floor_gap_s"] == "default"
    assert set(loaded.sources) == set(KEYS)


def test_an_integer_for_a_float_key_is_fine_and_becomes_a_float(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, "[nudges]\nacknowledge_after_s = 25\n"))
    assert loaded.config.nudges.acknowledge_after_s == 25.0
    assert isinstance(loaded.config.nudges.acknowledge_after_s, float)


def test_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # COACH_CONFIG names the file; a missing default file means defaults.
    assert default_config_path() == tmp_path / "home" / "coach" / "config.toml"
    loaded = load_config()
    assert loaded.config == DEFAULTS and loaded.path is None
    # Present: it is read.
    default_config_path().parent.mkdir(parents=True)
    default_config_path().write_text("[live]\nbell = false\n")
    loaded = load_config()
    assert loaded.config.live.bell is False
    assert loaded.sources["live.bell"] == str(default_config_path())
    # Without COACH_CONFIG: platformdirs' user config dir.
    monkeypatch.delenv("COACH_CONFIG")
    assert default_config_path() == tmp_path / "xdg" / "coach" / "config.toml"


def test_override_for_command_line_flags(tmp_path: Path) -> None:
    loaded = override(load_config(), {"transcribe.enabled": False}, "--no-transcribe")
    assert loaded.config.transcribe.enabled is False
    assert loaded.sources["transcribe.enabled"] == "--no-transcribe"
    with pytest.raises(CoachError, match="--mic: audio.mic = 3 is a whole number"):
        override(loaded, {"audio.mic": 3}, "--mic")


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # TOML syntax error, with line and column
        ("[nudges]\npause_s = = 1\n", ["not valid TOML", "line 2, column"]),
        ("[nudges]\npause_s = 0.3\npause_s = 0.4\n", ["not valid TOML", "line 3"]),
        # wrong types
        (
            '[nudges]\ntalk_ratio_max = "0.5"\n',
            [
                'nudges.talk_ratio_max = "0.5"',
                "is a string",
                "greater than 0 and at most 1",
                "without quotes: talk_ratio_max = 0.5",
            ],
        ),
        (
            "[nudges]\npause_s = true\n",
            ["nudges.pause_s = true", "is a boolean", "a number from 0 to 10 (seconds)"],
        ),
        ("[vad]\nmode = 2.0\n", ["vad.mode = 2.0", "decimal number", "whole number from 0 to 3"]),
        ("[vad]\nmode = 2.5\n", ["vad.mode = 2.5", "whole number from 0 to 3"]),
        ('[live]\nbell = "true"\n', ['live.bell = "true"', "true or false (no quotes)"]),
        ("[audio]\nmic = 3\n", ["audio.mic = 3", 'double quotes: mic = "3"']),
        ("[nudges]\npause_s = [0.3]\n", ["nudges.pause_s = [0.3]", "is an array"]),
        ("[nudges]\npause_s = 1979-05-27\n", ["nudges.pause_s = 1979-05-27", "is a date"]),
        ("nudges = 3\n", ["nudges = 3 must be a table", "[nudges]"]),
        # negative / out of range
        (
            "[nudges]\npause_s = -1\n",
            ["nudges.pause_s = -1", "out of range", "from 0 to 10 (seconds)", "default (0.3)"],
        ),
        (
            "[nudges]\nacknowledge_after_s = 0\n",
            ["nudges.acknowledge_after_s = 0", "out of range", "greater than 0"],
        ),
        (
            "[nudges]\ntalk_ratio_max = 65\n",
            ["nudges.talk_ratio_max = 65", "out of range", "at most 1"],
        ),
        ("[vad]\nmode = 4\n", ["vad.mode = 4", "out of range", "from 0 to 3"]),
        ("[vad]\nframe_ms = 25\n", ["vad.frame_ms = 25", "one of 10, 20, 30"]),
        ("[live]\nrefresh_hz = 0\n", ["live.refresh_hz = 0", "from 1 to 30"]),
        ("[transcribe]\nthreads = 64\n", ["transcribe.threads = 64", "from 1 to 16"]),
        ("[nudges]\npause_s = nan\n", ["nudges.pause_s = nan", "not a finite number"]),
        ("[nudges]\nsummarise_every_s = inf\n", ["summarise_every_s = inf", "finite"]),
        (
            '[vad]\nbackend = "webrt"\n',
            ['vad.backend = "webrt"', 'one of "silero", "webrtc"', 'did you mean "webrtc"?'],
        ),
        ('[audio]\necho_cancellation = "yes"\n', ['one of "auto", "on", "off"']),
        ('[transcribe]\nmodel = " "\n', ["transcribe.model", "model name under models/"]),
        ('[transcribe]\nlanguage = "English"\n', ['"English"', 'code such as "en"']),
        # unknown key, with a hint
        ("[nudges]\npause = 0.3\n", ["unknown key nudges.pause", "did you mean 'nudges.pause_s'?"]),
        ("[turns]\npause_s = 0.3\n", ["unknown key turns.pause_s", "'nudges.pause_s'"]),
        ("[nudges]\ntalk_ration_max = 0.5\n", ["did you mean 'nudges.talk_ratio_max'?"]),
        ("[nudges]\nzzz = 1\n", ["unknown key nudges.zzz", "coach config show"]),
        ("talk_ratio_max = 0.5\n", ["top-level key talk_ratio_max", "under [nudges]"]),
        # unknown table
        (
            "[nudge]\npause_s = 0.3\n",
            ["unknown table [nudge]", "did you mean [nudges]?", "vad, turns, nudges"],
        ),
        ("[nudges.extra]\nx = 1\n", ["unknown key nudges.extra"]),
        # unknown preset named in the file
        ('[coach]\npreset = "disco"\n', ['coach.preset = "disco"', 'did you mean "discovery"?']),
    ],
)
def test_bad_values_give_one_clear_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    message = load_error(tmp_path, text)
    assert message.startswith(str(tmp_path / "config.toml") + ": ")
    for part in expected:
        assert part in message, (part, message)


def test_unknown_preset_lists_the_presets() -> None:
    with pytest.raises(CoachError) as info:
        load_config(None, "discvery")
    message = str(info.value)
    assert 'unknown preset "discvery"' in message
    assert "did you mean 'discovery'?" in message
    assert "discovery, demo, cold-call" in message


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(CoachError, match="not found") as info:
        load_config(missing)
    assert str(missing) in str(info.value) and "coach config init" in str(info.value)


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(CoachError, match="is a directory") as info:
        load_config(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_a_binary_file_is_not_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CoachError, match="not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        (
            "[turns]\nbackchannel_max_s = 5\n[nudges]\nacknowledge_after_s = 4\n",
            ["turns.backchannel_max_s = 5.0", "nudges.acknowledge_after_s = 4.0", "less than"],
        ),
        (
            "[nudges]\npause_s = 4\n",
            ["nudges.pause_s = 4.0 (from this file)", "nudges.max_wait_s = 3.0 (from default)"],
        ),
        (
            "[turns]\nutterance_gap_s = 3\n",
            ["turns.utterance_gap_s = 3.0", "turns.floor_gap_s = 2.0"],
        ),
        (
            '[transcribe]\nlanguage = "de"\nmodel = "tiny.en"\n',
            ['transcribe.language = "de"', 'transcribe.model = "tiny.en"', "English-only"],
        ),
        (
            '[coach]\nlanguage = "de"\n[transcribe]\nmodel = "tiny.en"\n',
            ['coach.language = "de"', 'transcribe.model = "tiny.en"', "English-only"],
        ),
    ],
)
def test_contradictions_name_both_keys(tmp_path: Path, text: str, keys: list[str]) -> None:
    message = load_error(tmp_path, text)
    assert "contradictory settings" in message
    for part in keys:
        assert part in message, (part, message)


def test_no_contradiction_at_the_boundaries(tmp_path: Path) -> None:
    text = (
        "[nudges]\npause_s = 3\nmax_wait_s = 3\n[turns]\nutterance_gap_s = 2\n"
        '[transcribe]\nenabled = false\nlanguage = "de"\n'
    )
    loaded = load_config(write(tmp_path, text))
    assert loaded.config.nudges.pause_s == loaded.config.nudges.max_wait_s == 3.0
    loaded = load_config(write(tmp_path, '[transcribe]\nmodel = "small"\nlanguage = "de"\n'))
    assert loaded.config.transcribe.language == "de"


def test_check_config_catches_bad_configs_built_in_code() -> None:
    with pytest.raises(CoachError, match="nudges.talk_ratio_max = 1.5 is out of range"):
        check_config(dataclasses.replace(DEFAULTS, nudges=NudgesConfig(talk_ratio_max=1.5)))


# ---------------------------------------------------------------- CLI


def test_cli_init_writes_the_commented_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "coach.toml"
    result = CliRunner().invoke(config_app, ["init", "--path", str(target)])
    assert result.exit_code == 0, result.output
    assert str(target) in result.stdout
    assert target.read_text(encoding="utf-8") == render_config_toml()
    assert load_config(target).config == DEFAULTS


def test_cli_init_to_the_default_location() -> None:
    result = CliRunner().invoke(config_app, ["init"])
    assert result.exit_code == 0, result.output
    assert default_config_path().is_file()


def test_cli_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = write(tmp_path, "[vad]\nmode = 2\n")
    result = CliRunner().invoke(config_app, ["init", "--path", str(target)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "already exists" in result.stderr
    assert "--force" in result.stderr
    assert target.read_text() == "[vad]\nmode = 2\n"
    result = CliRunner().invoke(config_app, ["init", "--path", str(target), "--force"])
    assert result.exit_code == 0
    assert target.read_text(encoding="utf-8") == render_config_toml()


def test_cli_init_refuses_a_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(config_app, ["init", "--path", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a directory" in result.stderr


def test_cli_show_json(tmp_path: Path) -> None:
    path = write(tmp_path, "[nudges]\npause_s = 0.4\n")
    result = CliRunner().invoke(
        config_app, ["show", "--config", str(path), "--preset", "demo", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == set(KEYS)
    assert data["nudges.pause_s"] == {"value": 0.4, "source": str(path)}
    assert data["nudges.talk_ratio_max"] == {"value": 0.7, "source": "preset demo"}
    assert data["vad.mode"] == {"value": 3, "source": "default"}
    assert data["live.bell"] == {"value": True, "source": "default"}


def test_cli_show_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[nudges]\npause_s = 0.4\n")
    result = CliRunner().invoke(config_app, ["show", "--config", str(path)])
    assert result.exit_code == 0, result.output
    for name in KEYS:
        assert name in result.stdout
    assert "0.4" in result.stdout and "default" in result.stdout


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[nudges]\npause_s = -1\n", "nudges.pause_s = -1"),
        ("[nudges\n", "not valid TOML"),
        ("[nudges]\npause = 1\n", "did you mean 'nudges.pause_s'?"),
    ],
)
def test_cli_show_bad_file_is_one_line_exit_2(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    result = CliRunner().invoke(config_app, ["show", "--config", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("coach: ") and result.stderr.count("\n") == 1
    assert needle in result.stderr
    assert "Traceback" not in result.output


def test_cli_show_unknown_preset_and_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(config_app, ["show", "--preset", "nope"])
    assert result.exit_code == 2 and "discovery, demo, cold-call" in result.stderr
    result = CliRunner().invoke(config_app, ["show", "--config", str(tmp_path / "x.toml")])
    assert result.exit_code == 2 and "not found" in result.stderr


def test_cli_path() -> None:
    result = CliRunner().invoke(config_app, ["path"])
    assert result.exit_code == 0
    assert result.stdout.strip() == str(default_config_path())
    assert "does not exist" in result.stderr
    default_config_path().parent.mkdir(parents=True)
    default_config_path().write_text("")
    result = CliRunner().invoke(config_app, ["path"])
    assert "exists" in result.stderr and "not" not in result.stderr


# ---------------------------------------------------------------- properties

scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.floats(min_value=-2, max_value=100),
    st.text(max_size=12),
    st.sampled_from(["webrtc", "silero", "en", "de", "auto", "on", "tiny.en", "demo", ""]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.datetimes(),
)
FIXTURE = HealthCheck.function_scoped_fixture  # tmp_path is reused; each example overwrites
names = st.one_of(
    st.sampled_from(list(KEYS)),
    st.builds(lambda t, k: f"{t}.{k}", st.sampled_from(list(TABLES)), st.text(max_size=8)),
    st.text(max_size=10),
)


@settings(max_examples=400, deadline=None)
@given(
    items=st.lists(st.tuples(names, scalars), max_size=6),
    preset=st.one_of(st.none(), st.sampled_from([*PRESETS, "bogus"])),
)
def test_random_configs_give_a_config_or_a_clear_error(
    items: list[tuple[str, Any]], preset: str | None
) -> None:
    data: dict[str, Any] = {}
    for name, value in items:
        table, _, key = name.partition(".")
        if key:
            section = data.setdefault(table, {})
            if isinstance(section, dict):
                section[key] = value
        else:
            data[table] = value
    try:
        loaded = config_from_data(data, "test.toml", preset)
    except CoachError as exc:
        assert len(str(exc).splitlines()) == 1
        return
    assert isinstance(loaded, LoadedConfig)
    check_config(loaded.config)


@settings(max_examples=200, deadline=None, suppress_health_check=[FIXTURE])
@given(text=st.text(max_size=80))
def test_random_text_files_give_a_config_or_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except CoachError as exc:
        assert len(str(exc).splitlines()) == 1


def _valid(spec: KeySpec) -> st.SearchStrategy[Any]:
    if spec.choices:
        return st.sampled_from(spec.choices)
    if spec.kind is bool:
        return st.booleans()
    if spec.kind is int:
        assert spec.min is not None and spec.max is not None
        return st.integers(int(spec.min), int(spec.max))
    if spec.kind is float:
        assert spec.min is not None and spec.max is not None
        return st.floats(spec.min, spec.max, exclude_min=spec.min_open)
    if spec.pattern is not None:
        return st.from_regex(spec.pattern, fullmatch=True)
    return st.text(max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[FIXTURE])
@given(data=st.fixed_dictionaries({name: _valid(spec) for name, spec in KEYS.items()}))
def test_any_valid_config_renders_and_loads_back(tmp_path: Path, data: dict[str, Any]) -> None:
    nested: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        table, _, key = name.partition(".")
        nested.setdefault(table, {})[key] = value
    try:
        config = config_from_data(nested, "generated").config
    except CoachError as exc:
        assert "contradictory settings" in str(exc)
        return
    path = tmp_path / "round.toml"
    path.write_text(render_config_toml(config, all_active=True), encoding="utf-8")
    assert load_config(path).config == config
    path.write_text(render_config_toml(config), encoding="utf-8")
    assert load_config(path).config == config
    assert not math.isnan(config.nudges.talk_ratio_max)


def test_coach_language_alone_picks_the_speech_language_and_a_multilingual_model(
    tmp_path: Path,
) -> None:
    english = load_config(write(tmp_path, "")).config
    assert (speech_language(english), model_name(english)) == ("en", "tiny.en")
    german = load_config(write(tmp_path, '[coach]\nlanguage = "de"\n')).config
    assert (speech_language(german), model_name(german)) == ("de", "base")
    mine = load_config(
        write(tmp_path, '[coach]\nlanguage = "de"\n[transcribe]\nmodel = "small"\n')
    ).config
    assert (speech_language(mine), model_name(mine)) == ("de", "small")
    spoken = load_config(write(tmp_path, '[transcribe]\nlanguage = "de"\n')).config
    assert (spoken.coach.language, speech_language(spoken), model_name(spoken)) == (
        "en",
        "de",
        "base",
    )


def test_transcription_cost_keys_are_checked(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, '[transcribe]\nmax_wait_s = 0\nlive_work = "stories"\n'))
    assert loaded.config.transcribe.max_wait_s == 0.0
    assert loaded.config.transcribe.live_work == "stories"
    assert "live_work" in load_error(tmp_path, '[transcribe]\nlive_work = "some"\n')
    assert "max_wait_s" in load_error(tmp_path, "[transcribe]\nmax_wait_s = -1\n")
