"""Fuzzing the profile and scenario parsers (YAML): any text, and the shipped files
changed in their structure or their bytes, give a profile, a scenario or knelpunt's
own error; never another exception, never a hang (see harness.py)."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.profile import SHIPPED_PROFILES
from knelpunt.simulate.scenario import SHIPPED_SCENARIOS
from tests.fuzz.harness import FUZZ, mutate, mutations, only_own_errors

_PROFILES = {
    name: (resources.files("knelpunt") / "profiles" / f"{name}.yaml").read_text("utf-8")
    for name in SHIPPED_PROFILES
}
_SCENARIOS = {
    name: (resources.files("knelpunt.simulate") / "scenarios" / f"{name}.yaml").read_text("utf-8")
    for name in SHIPPED_SCENARIOS
}

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "08:00-17:00",
            "ma-vr",
            "2024-02-30",
            "P5D",
            "5 werkdagen",
            "-1",
            "1e999",
            "Europe/Nowhere",
            "on",
            "no",
            "~",
        ]
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def changed(draw: st.DrawFn, texts: dict[str, str]) -> str:
    """A shipped file with a few of its values replaced, removed or added."""
    data = yaml.safe_load(texts[draw(st.sampled_from(sorted(texts)))])
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(_values)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(_values)
        else:
            parent.append(draw(_values))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _read(text: str | bytes, reader: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
        only_own_errors(lambda: reader(path))


_anything = st.one_of(st.text(max_size=400), st.binary(max_size=400))


@FUZZ
@given(st.one_of(_anything, changed(_PROFILES)))
def test_profile(text: str | bytes) -> None:
    """Profiles: any text or bytes, and the shipped ones with values changed."""
    _read(text, kp.read_profile)


@FUZZ
@given(st.sampled_from(sorted(_PROFILES)), mutations)
def test_profile_bytes(name: str, ops: list[tuple[str, float, bytes]]) -> None:
    """The shipped profiles with their bytes changed."""
    _read(mutate(_PROFILES[name].encode(), ops), kp.read_profile)


@FUZZ
@given(st.one_of(_anything, changed(_SCENARIOS)))
def test_scenario(text: str | bytes) -> None:
    """Scenarios: any text or bytes, and the shipped ones with values changed."""
    _read(text, kp.read_scenario)


@FUZZ
@given(st.sampled_from(sorted(_SCENARIOS)), mutations)
def test_scenario_bytes(name: str, ops: list[tuple[str, float, bytes]]) -> None:
    """The shipped scenarios with their bytes changed."""
    _read(mutate(_SCENARIOS[name].encode(), ops), kp.read_scenario)


_override_keys = st.one_of(
    st.sampled_from(
        [
            "days",
            "seed",
            "arrivals.per_week",
            "steering.caseload_cap",
            "protocol.x",
            "team.size",
            "blockers",
            "start",
            "extends",
        ]
    ),
    st.text(max_size=12),
)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.text(max_size=30),
            st.builds(
                lambda k, v: f"{k}={v}",
                _override_keys,
                st.one_of(
                    st.text(max_size=20),
                    _values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()),
                ),
            ),
        ),
        max_size=3,
    )
)
def test_scenario_overrides(overrides: list[str]) -> None:
    """Overrides as the command line and the simulation page take them (key=value)."""
    only_own_errors(lambda: kp.read_scenario("baseline", overrides=overrides))
