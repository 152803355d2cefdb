"""Scenario files: good ones load, bad ones get one clear line naming key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.errors import UserError
from sim.scenario.schema import Scenario, load_scenario, parse_override
from sim.scenario.templates import starter_text

from .conftest import SCENARIOS

BAD = sorted((Path(__file__).parent / "fixtures" / "bad").glob("*.toml"))


def _expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: ...'"
    return first[len("# expect: "):]


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_fixture_is_rejected_with_its_message(path):
    with pytest.raises(UserError) as info:
        load_scenario(path)
    message = str(info.value)
    key, fragment = _expected(path).split(" :: ", 1)
    assert message.startswith(f"{path}: {key + ': ' if key else ''}"), message
    assert fragment in message, message
    assert "\n" not in message and "Traceback" not in message


SHIPPED = sorted(p for p in SCENARIOS.glob("*.toml") if not p.name.startswith("sweep"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_validate(path):  # sweep files: tests/test_sweep_file.py
    scenario = load_scenario(path)
    assert scenario.strategies


def test_starter_template_validates(tmp_path):
    path = tmp_path / "starter.toml"
    path.write_text(starter_text())
    assert load_scenario(path).name == "my_team"


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_defaults_fill_everything():
    scenario = Scenario.model_validate({"schema_version": 1})
    resolved = scenario.resolved()
    assert resolved["strategies"][2] == {"name": "rotate", "kind": "rotate", "n_messages": 3,
                                         "n": None, "sequence": None, "then": None,
                                         "drop_mode": None, "message_length_s": None,
                                         "callback_mult_by_message": None,
                                         "genuine_callback_share_by_message": None,
                                         "by_segment": None}
    assert resolved["dialer"]["ring_delay_s"]["dist"] == "lognormal"
    # the resolved form validates to the same scenario (manifests can be re-run)
    assert Scenario.model_validate(resolved) == scenario


def test_overrides_set_nested_and_list_keys(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("schema_version = 1\n")
    scenario = load_scenario(path, ["team.reps=7", "prospects.segments.0.p_pickup=0.4",
                                    "dialer.ring_delay_s.median=9", 'voicemail.drop_mode="live"',
                                    "calendar.break_start=null", "calendar.break_end=null",
                                    "conversation.wrap_s=30"])
    assert scenario.team.reps == 7
    assert scenario.prospects.segments[0].p_pickup == 0.4
    assert scenario.dialer.ring_delay_s.median == 9
    assert scenario.voicemail.drop_mode == "live"
    assert scenario.calendar.break_start is None
    assert scenario.conversation.wrap_s.value == 30


@pytest.mark.parametrize("override, fragment", [
    ("team.repz=3", "--set team.repz=3: team.repz: unknown key"),
    ("team.reps=0", "--set team.reps=0: team.reps: Input should be greater than or equal to 1"),
    ("callbacks.p_listen=2", "--set callbacks.p_listen=2: callbacks.p_listen"),
    ("nosuch.section.key=1", "--set nosuch.section.key=1: nosuch: unknown key"),
    ("prospects.segments.4.p_pickup=0.1", "index 4 is past the end"),
    ("team.reps", "expected key.path=value"),
    ("team.reps.deeper=1", "team.reps is a value, not a table"),
])
def test_bad_override_names_the_set(tmp_path, override, fragment):
    path = tmp_path / "s.toml"
    path.write_text("schema_version = 1\n")
    with pytest.raises(UserError) as info:
        load_scenario(path, [override])
    assert fragment in str(info.value)


@given(st.integers(-10**9, 10**9))
def test_override_values_parse_as_toml(number):
    assert parse_override(f"team.reps={number}") == (["team", "reps"], number)


def test_override_bare_word_is_a_string_and_null_clears():
    assert parse_override("voicemail.drop_mode=live") == (["voicemail", "drop_mode"], "live")
    assert parse_override("calendar.break_start=null") == (["calendar", "break_start"], None)


def test_paid_hours_subtract_the_break():
    scenario = Scenario.model_validate({"schema_version": 1, "calendar": {
        "shift_start": "08:30", "shift_end": "17:00", "break_start": "12:00", "break_end": "12:45"}})
    assert scenario.calendar.paid_hours_per_day() == pytest.approx(7.75)
