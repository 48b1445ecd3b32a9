"""Compare two sets of cases: two simulation runs, before and after a date, two
teams, a simulation and the real log.

For each set the same measures are taken and their difference (B minus A) is
given with a bootstrap confidence interval: each set is drawn again with
replacement (``resamples`` times), the measure recomputed, and the interval
is the middle ``confidence`` share of the differences.

Cases are drawn in two ways, and the wider spread of the two is used. One by
one, as if independent; and the weeks they came in, each with all its cases,
in runs of consecutive weeks (a circular block bootstrap over weeks; the run
length is Politis and White's automatic choice on the weekly means, from
``arch``, at most a quarter of the weeks). Cases of the same weeks share the
team's load, the queue and the absences, and a backlog lasts beyond a week,
so where outcomes hang together in time the weekly blocks give the wider,
honest spread; where they do not, the block bootstrap has few units and
understates the spread, and the case draws are wider. Which one was used is
in the ``drawn`` column. Measured on fifteen pairs of runs of one simulated
scenario on other seeds (``tests/analysis/test_compare.py``), the raw
p-values fall below 5% about as often as they should.

Many measures are compared at once, so some interval misses zero by chance
alone. A difference is therefore called *significant* when its p-value (from
the bootstrap spread, normal approximation), adjusted over all measures and
criteria of the comparison (Benjamini-Hochberg), is at most
``1 - confidence``; the interval itself is per measure.

Besides the measures: the process-map difference (paths that appeared or
disappeared, or changed: their share of cases differs by a two-proportion
test, or their durations by a Mann-Whitney test with the median a quarter
longer or shorter, ten passages or more on each side; the tests of all paths
together hold the false discovery rate at ``1 - confidence``), and the
blocker difference (the same
category, reason and activity ranked in each set, with its waiting per case).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
from babel.numbers import format_decimal, format_percent

from knelpunt.analysis.blockers import find_blockers
from knelpunt.analysis.criteria import CriteriaResult, case_holders, evaluate_criteria
from knelpunt.analysis.overview import case_spans
from knelpunt.errors import AnalysisError
from knelpunt.events.store import EventStore
from knelpunt.mining.filters import filter_events
from knelpunt.mining.maps import discover_map
from knelpunt.mining.projection import EventTable
from knelpunt.policy import Criterion
from knelpunt.profile import Profile, read_profile

__all__ = ["Comparison", "compare", "select_cases"]

_LOCALES: Final = {"nl": "nl_NL", "en": "en_GB"}
_DAY_S: Final = 86_400.0
_CHANGE: Final = 0.25
_MIN_PASSAGES: Final = 10
# The share of a criterion's judged cases still open at the log's end from which a
# comparison warns that the compliance may be too high.
_OPEN_SHARE: Final = 0.05
_KPI_NAMES: Final = {
    "nl": {
        "cases": "zaken",
        "throughput_median_d": "doorlooptijd, mediaan (dagen)",
        "throughput_mean_d": "doorlooptijd, gemiddeld (dagen)",
        "throughput_p90_d": "doorlooptijd, 90e percentiel (dagen)",
        "events_per_case": "gebeurtenissen per zaak",
    },
    "en": {
        "cases": "cases",
        "throughput_median_d": "throughput time, median (days)",
        "throughput_mean_d": "throughput time, mean (days)",
        "throughput_p90_d": "throughput time, 90th percentile (days)",
        "events_per_case": "events per case",
    },
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two sets of cases side by side (see the module documentation).

    Attributes:
        labels: the names of set A and set B.
        kpis: per measure: ``a``, ``b``, ``delta`` (B - A), the interval
            ``low``..``high``, its p-value ``p``, ``p_adjusted`` over all measures
            and criteria, ``significant`` (``p_adjusted`` at most
            ``1 - confidence``), and ``drawn``: whether the spread came from
            drawing cases or blocks of weeks.
        criteria: per criterion: measured cases and compliance in each set, the
            difference with its interval, ``p``, ``p_adjusted``, ``significant``,
            and ``open_a``/``open_b``: cases whose term still ran when the log
            ended (not measurable; the summary warns when they are 5% or more).
        edges: the process-map difference: per edge its share of cases and median
            hours in each set and its ``status`` (appeared, disappeared, changed,
            same).
        blockers: per blocker (category, reason, activity): its rank and waiting
            hours per case in each set, and ``status`` (new, gone, worse, better).
        resamples, confidence: of the bootstrap.
    """

    labels: tuple[str, str]
    kpis: pd.DataFrame
    criteria: pd.DataFrame
    edges: pd.DataFrame
    blockers: pd.DataFrame
    resamples: int
    confidence: float

    def to_frame(self) -> pd.DataFrame:
        """The measures and the criteria in one table."""
        criteria = self.criteria.rename(
            columns={"criterion": "kpi", "compliance_a": "a", "compliance_b": "b"}
        )
        keep = ["kpi", "a", "b", "delta", "low", "high", "p_adjusted", "significant"]
        return pd.concat([self.kpis[keep], criteria[keep]], ignore_index=True)

    def summary(self, lang: str = "en") -> list[str]:
        """The differences in plain words, significant ones first."""
        nl = lang == "nl"
        locale = _LOCALES["nl" if nl else "en"]
        a, b = self.labels
        lines = []
        names = _KPI_NAMES["nl" if nl else "en"]
        for row in self.kpis.to_dict("records"):
            shown = names.get(str(row["kpi"]), str(row["kpi"]))
            if row["kpi"] == "cases":
                count_a = format_decimal(row["a"], format="#,##0", locale=locale)
                count_b = format_decimal(row["b"], format="#,##0", locale=locale)
                lines.append(f"{shown}: {a} {count_a}, {b} {count_b}.")
                continue
            lines.append(_difference(shown, row, a, b, locale=locale, nl=nl, percent=False))
        for row in self.criteria.to_dict("records"):
            line = _difference(str(row["name"]), row, a, b, locale=locale, nl=nl, percent=True)
            lines.append(line + _censored(row, a, b, locale=locale, nl=nl))
        edges = self.edges["status"].value_counts()
        counts = {k: int(edges.get(k, 0)) for k in ("appeared", "disappeared", "changed")}
        if nl:
            lines.append(
                f"Proceskaart: {counts['appeared']} nieuwe en {counts['disappeared']} "
                f"verdwenen overgangen, {counts['changed']} gewijzigd."
            )
        else:
            lines.append(
                f"Process map: {counts['appeared']} paths appeared, {counts['disappeared']} "
                f"disappeared, {counts['changed']} changed."
            )
        return lines

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format="{:,.3f}".format)


def compare(
    a: EventTable,
    b: EventTable,
    *,
    labels: tuple[str, str] = ("A", "B"),
    profile: Profile | str | None = None,
    criteria: Sequence[Criterion | str] | None = None,
    store: EventStore | None = None,
    attributes: pd.DataFrame | None = None,
    groups: Mapping[str, str] | None = None,
    blockers: bool = True,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Compare two sets of cases: measures and criteria with bootstrap intervals, the
    process-map difference and the blocker difference.

    Args:
        a, b: the two sets (say, two sources, or :func:`select_cases` of one log).
        labels: their names in the result.
        profile: the profile whose criteria and calendar are used (default
            ``generiek``); with no criteria in it, only the measures are compared.
        criteria: ids of the profile's criteria, or criteria of your own.
        store: where case attributes are read for criteria that need them.
        attributes: case attributes (:func:`knelpunt.read_case_attributes`).
        groups: per resource, its team (for case holders and handovers).
        blockers: also rank the blockers of each set and compare them.
        resamples: bootstrap resamples.
        confidence: the intervals' confidence.
        seed: the bootstrap's random seed (the same seed, the same intervals).

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     one = kp.simulate_scenario(store, "baseline", seed=1, overrides=["days=60"])
        ...     two = kp.simulate_scenario(store, "baseline", seed=2, overrides=["days=60"])
        ...     a = kp.load_events(store, sources=[one.source.source_id])
        ...     b = kp.load_events(store, sources=[two.source.source_id])
        ...     found = kp.compare(a, b, profile="sociaal-domein", store=store, blockers=False,
        ...                        resamples=200)
        >>> list(found.kpis["kpi"])[:2]
        ['cases', 'throughput_median_d']
    """
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence is a share between 0 and 1, not {confidence}.")
    if resamples < 100:
        raise AnalysisError(f"Use at least 100 resamples for an interval, not {resamples}.")
    for name, table in zip(labels, (a, b), strict=True):
        if table.n_cases == 0:
            raise AnalysisError(f"Set {name} holds no cases; check its source, period or team.")
    if isinstance(profile, str):
        profile = read_profile(profile)
    profile = profile or read_profile("generiek")
    rng = np.random.default_rng(seed)
    kpis = _kpis(a, b, rng, resamples, confidence)
    wanted = criteria if criteria is not None else (None if profile.criteria else [])
    criteria_frame = _criteria(
        a, b, profile, wanted, store, attributes, groups, rng, resamples, confidence
    )
    # One family: every measure and criterion of the comparison.
    adjusted = _adjust(
        np.concatenate([kpis["p"].to_numpy(float), criteria_frame["p"].to_numpy(float)])
    )
    for frame, part in ((kpis, adjusted[: len(kpis)]), (criteria_frame, adjusted[len(kpis) :])):
        frame["p_adjusted"] = part
        frame["significant"] = [None if q != q else bool(q <= 1 - confidence) for q in part]
    edges = _edges(a, b, confidence)
    blocker_frame = (
        _blockers(a, b, profile, groups) if blockers else pd.DataFrame(columns=_BLOCKER_COLUMNS)
    )
    return Comparison(
        labels=labels,
        kpis=kpis,
        criteria=criteria_frame,
        edges=edges,
        blockers=blocker_frame,
        resamples=resamples,
        confidence=confidence,
    )


def select_cases(
    events: EventTable,
    *,
    sources: Sequence[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    team: str | None = None,
    profile: Profile | str | None = None,
    groups: Mapping[str, str] | None = None,
) -> EventTable:
    """The cases of some sources, started in a period, or held by a team.

    Args:
        events: the events to choose from.
        sources: only cases of these sources.
        since, until: only cases whose first event falls in this window.
        team: only cases whose case holder (the person doing their first
            professional work, as :func:`knelpunt.evaluate_criteria` finds them)
            is in this team (the profile's teams, or ``groups``).
        profile: for the activity classes and teams.
        groups: per resource, its team (say, the log's ``org:group``).

    Example:
        >>> from datetime import datetime
        >>> from zoneinfo import ZoneInfo
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=20, seed=1), name="demo")
        ...     events = kp.load_events(store)
        >>> cut = datetime(2025, 1, 13, tzinfo=ZoneInfo("Europe/Amsterdam"))
        >>> before = kp.select_cases(events, until=cut)
        >>> after = kp.select_cases(events, since=cut)
        >>> before.n_cases, after.n_cases, events.n_cases
        (7, 13, 20)
    """
    chosen = events
    if sources is not None:
        wanted = {int(s) for s in sources}
        keep = np.isin(chosen.case_sources, list(wanted))
        pairs = zip(chosen.case_sources[keep], chosen.case_ids[keep], strict=True)
        chosen = filter_events(chosen, cases=[(int(s), str(c)) for s, c in pairs])
    if since is not None or until is not None:
        chosen = filter_events(chosen, start=since, end=until, window="started")
    if team is not None:
        holders = case_holders(chosen, profile=profile, groups=groups)
        known = sorted({str(t) for t in holders["team"].dropna()})
        if team not in known:
            raise AnalysisError(
                f"No case is held by a team {team!r}; the teams are "
                f"{', '.join(known) or 'none'} (the profile's teams, or the log's org:group)."
            )
        kept = holders[holders["team"] == team]
        pairs = zip(kept["source_id"], kept["case_id"], strict=True)
        chosen = filter_events(chosen, cases=[(int(s), str(c)) for s, c in pairs])
    return chosen


# -- measures -------------------------------------------------------------------------


def _per_case(table: EventTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per case its throughput time in days, its number of events, and its week (the
    cluster it is drawn with: the week of its first event)."""
    _has, first, last, events = case_spans(table)
    return (last - first) / 1e6 / _DAY_S, events.astype(float), _weeks(first)


def _weeks(time_us: np.ndarray) -> np.ndarray:
    """Cluster numbers 0..k-1: the week (Monday-based, UTC) of each instant."""
    days = np.asarray(time_us, dtype=np.int64) // 86_400_000_000
    weeks = (days + 3) // 7  # 1970-01-01 was a Thursday
    return np.unique(weeks, return_inverse=True)[1].astype(np.int64)


def _block_length(values: np.ndarray, clusters: np.ndarray) -> int:
    """How many consecutive weeks a bootstrap block holds: Politis and White's automatic
    choice for the circular block bootstrap, on the weekly means, at most a quarter of
    the weeks (a block as long as the run would draw the same weeks every time)."""
    k = int(clusters.max()) + 1 if len(clusters) else 1
    if k < 8:
        return 1
    counts = np.bincount(clusters, minlength=k)
    means = np.bincount(clusters, weights=values, minlength=k) / np.maximum(counts, 1)
    if np.ptp(means) == 0:
        return 1
    from arch.bootstrap import optimal_block_length

    # A flat long-run spectrum makes the estimate divide by zero: no usable length.
    with np.errstate(divide="ignore", invalid="ignore"):
        found = float(optimal_block_length(means)["circular"].iloc[0])
    if not np.isfinite(found):
        return 1
    return int(min(max(np.ceil(found), 1), k // 4))


def _draw_weights(
    clusters: np.ndarray, length: int, rng: np.random.Generator, count: int
) -> np.ndarray:
    """``count`` circular block resamples of the weeks, blocks of ``length`` consecutive
    weeks: per resample, how often each week was drawn."""
    k = int(clusters.max()) + 1 if len(clusters) else 1
    blocks = -(-k // length)
    starts = rng.integers(k, size=(count, blocks))
    weeks = ((starts[:, :, None] + np.arange(length)) % k).reshape(count, -1)[:, :k]
    rows = np.arange(count)[:, None] * k
    return np.bincount((weeks + rows).ravel(), minlength=count * k).reshape(count, k).astype(float)


def _statistic(values: np.ndarray, weights: np.ndarray, kind: str) -> np.ndarray:
    """Per row of case weights: the weighted mean, median or quantile (``q0.9``)."""
    if kind == "mean":
        return np.asarray((weights @ values) / weights.sum(axis=1))
    q = 0.5 if kind == "median" else float(kind[1:])
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[:, order], axis=1)
    target = q * cumulative[:, -1]
    at = (cumulative < target[:, None]).sum(axis=1)
    return np.asarray(values[order][np.minimum(at, len(values) - 1)])


class _Estimate(NamedTuple):
    a: float
    b: float
    delta: float
    low: float
    high: float
    p: float
    drawn: str  # "cases" or "weeks": the draws whose spread was used


def _bootstrap(
    x: tuple[np.ndarray, np.ndarray],
    y: tuple[np.ndarray, np.ndarray],
    kind: str,
    rng: np.random.Generator,
    resamples: int,
    confidence: float,
) -> _Estimate:
    """The measure in each set, the difference (y - x), its interval and its p-value
    (each side a pair of values and their weeks): cases drawn one by one, and weeks
    drawn in blocks; the wider of the two spreads is used."""
    whole = [float(_statistic(v, np.ones((1, len(v))), kind)[0]) for v, _ in (x, y)]
    lengths = [_block_length(values, clusters) for values, clusters in (x, y)]
    chunk = max(1, 4_000_000 // max(len(x[0]), len(y[0]), 1))
    draws = {"cases": np.empty(resamples), "weeks": np.empty(resamples)}
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        for drawn, found in draws.items():
            sides = []
            for (values, clusters), length in zip((x, y), lengths, strict=True):
                if drawn == "cases":
                    n = len(values)
                    weights = rng.multinomial(n, np.full(n, 1 / n), size=k).astype(float)
                else:
                    weights = _draw_weights(clusters, length, rng, k)[:, clusters]
                sides.append(_statistic(values, weights, kind))
            found[start : start + k] = sides[1] - sides[0]
    drawn = max(draws, key=lambda name: float(np.std(draws[name])))
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws[drawn], [tail, 1 - tail])
    delta = whole[1] - whole[0]
    spread = float(np.std(draws[drawn]))
    if spread > 0:
        p = 2 * (1 - NormalDist().cdf(abs(delta) / spread))
    else:
        p = 1.0 if delta == 0 else 0.0
    return _Estimate(whole[0], whole[1], delta, float(low), float(high), p, drawn)


def _kpis(
    a: EventTable, b: EventTable, rng: np.random.Generator, resamples: int, confidence: float
) -> pd.DataFrame:
    times_a, events_a, weeks_a = _per_case(a)
    times_b, events_b, weeks_b = _per_case(b)
    measures = {
        "throughput_median_d": (times_a, times_b, "median"),
        "throughput_mean_d": (times_a, times_b, "mean"),
        "throughput_p90_d": (times_a, times_b, "q0.9"),
        "events_per_case": (events_a, events_b, "mean"),
    }
    rows: list[dict[str, Any]] = [
        {
            "kpi": "cases",
            "a": float(a.n_cases),
            "b": float(b.n_cases),
            "delta": float(b.n_cases - a.n_cases),
            "low": float("nan"),
            "high": float("nan"),
            "p": float("nan"),
            "drawn": None,
        }
    ]
    for name, (x, y, kind) in measures.items():
        found = _bootstrap((x, weeks_a), (y, weeks_b), kind, rng, resamples, confidence)
        rows.append(
            {
                "kpi": name,
                "a": found.a,
                "b": found.b,
                "delta": found.delta,
                "low": found.low,
                "high": found.high,
                "p": found.p,
                "drawn": found.drawn,
            }
        )
    return pd.DataFrame(rows)


def _criteria(
    a: EventTable,
    b: EventTable,
    profile: Profile,
    wanted: Sequence[Criterion | str] | None,
    store: EventStore | None,
    attributes: pd.DataFrame | None,
    groups: Mapping[str, str] | None,
    rng: np.random.Generator,
    resamples: int,
    confidence: float,
) -> pd.DataFrame:
    columns = [
        "criterion", "name", "measured_a", "compliance_a", "measured_b", "compliance_b",
        "delta", "low", "high", "p", "drawn", "target", "direction", "open_a", "open_b",
    ]  # fmt: skip
    if wanted is not None and not wanted:
        return pd.DataFrame(columns=columns)
    common: dict[str, Any] = {
        "profile": profile,
        "criteria": wanted,
        "store": store,
        "attributes": attributes,
        "groups": groups,
        "blockers": False,
    }
    results = [evaluate_criteria(table, **common) for table in (a, b)]
    cards = [result.scorecard() for result in results]
    rows = []
    for left, right in zip(cards[0].to_dict("records"), cards[1].to_dict("records"), strict=True):
        n_a, n_b = int(left["measured"]), int(right["measured"])
        p_a, p_b = float(left["compliance"]), float(right["compliance"])
        delta = low = high = p = float("nan")
        drawn = None
        if n_a and n_b:
            outcomes = [_outcomes(result, str(left["criterion"])) for result in results]
            found = _bootstrap(outcomes[0], outcomes[1], "mean", rng, resamples, confidence)
            delta, low, high, p, drawn = found.delta, found.low, found.high, found.p, found.drawn
        still_open = [_still_open(result, str(left["criterion"])) for result in results]
        rows.append(
            {
                "criterion": left["criterion"],
                "name": left["name"],
                "measured_a": n_a,
                "compliance_a": p_a,
                "measured_b": n_b,
                "compliance_b": p_b,
                "delta": delta,
                "low": low,
                "high": high,
                "p": p,
                "drawn": drawn,
                "target": left["target"],
                "direction": left["direction"],
                "open_a": still_open[0],
                "open_b": still_open[1],
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _still_open(result: CriteriaResult, criterion: str) -> int:
    """The cases whose term still ran when the log ended: left out of the compliance,
    and, because only the quick ones of them have closed, a reason the compliance of a
    set that ends with the log may be too high."""
    cases = result.cases
    mine = cases[(cases["criterion"] == criterion) & (cases["reason"] == "open at log end")]
    return len(mine)


def _outcomes(result: CriteriaResult, criterion: str) -> tuple[np.ndarray, np.ndarray]:
    """The measured cases of a criterion: 1 for a pass, 0 for a breach, and their week."""
    cases = result.cases
    mine = cases[(cases["criterion"] == criterion) & (cases["status"] != "not measurable")]
    passed = (mine["status"] == "pass").to_numpy(dtype=float)
    return passed, _weeks(mine["window_start_us"].to_numpy(dtype=np.int64))


def _passages(table: EventTable) -> pd.DataFrame:
    """Every pair of consecutive events of a case: source, target and hours between."""
    same = table.case[1:] == table.case[:-1]
    names = np.asarray(table.activities, dtype=object)
    return pd.DataFrame(
        {
            "source": names[table.activity[:-1][same]],
            "target": names[table.activity[1:][same]],
            "hours": (table.time_us[1:] - table.time_us[:-1])[same] / 3.6e9,
        }
    )


def _edges(a: EventTable, b: EventTable, confidence: float) -> pd.DataFrame:
    columns = ["source", "target", "cases_a", "share_a", "cases_b", "share_b",
               "median_a_h", "median_b_h", "status"]  # fmt: skip
    maps = [discover_map(table).edges for table in (a, b)]
    keys = ["source", "target"]
    left = maps[0][[*keys, "cases", "count", "median_s"]]
    right = maps[1][[*keys, "cases", "count", "median_s"]]
    joined = left.merge(right, on=keys, how="outer", suffixes=("_a", "_b"))
    n_a, n_b = a.n_cases, b.n_cases
    for side in ("a", "b"):
        joined[f"cases_{side}"] = joined[f"cases_{side}"].fillna(0).astype(int)
        joined[f"count_{side}"] = joined[f"count_{side}"].fillna(0).astype(int)
    joined["share_a"] = joined["cases_a"] / n_a
    joined["share_b"] = joined["cases_b"] / n_b
    joined["median_a_h"] = joined["median_s_a"] / 3600
    joined["median_b_h"] = joined["median_s_b"] / 3600
    both = (joined["cases_a"] > 0) & (joined["cases_b"] > 0)
    # Share of cases: a two-proportion z-test.
    pooled = (joined["cases_a"] + joined["cases_b"]) / (n_a + n_b)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = ((joined["share_b"] - joined["share_a"]) / spread.where(spread > 0)).fillna(0.0)
    normal = NormalDist()
    share_p = np.array([2 * (1 - normal.cdf(abs(float(v)))) for v in z])
    # Durations: Mann-Whitney on the passages, where the median moved by a quarter.
    time_p = np.ones(len(joined))
    enough = (joined["count_a"] >= _MIN_PASSAGES) & (joined["count_b"] >= _MIN_PASSAGES)
    ratio = joined["median_b_h"] / joined["median_a_h"].where(joined["median_a_h"] > 0)
    moved_rows = (enough & ((ratio >= 1 + _CHANGE) | (ratio <= 1 - _CHANGE))).fillna(False)
    moved = moved_rows.to_numpy(dtype=bool)
    if moved.any():
        from scipy.stats import mannwhitneyu

        hours = [
            {key: group.to_numpy() for key, group in _passages(t).groupby(keys)["hours"]}
            for t in (a, b)
        ]
        for i in np.flatnonzero(moved):
            key = (joined["source"].iloc[i], joined["target"].iloc[i])
            time_p[i] = float(mannwhitneyu(hours[0][key], hours[1][key]).pvalue)
    both_mask = both.to_numpy(dtype=bool)
    tested = np.concatenate([np.where(both_mask, share_p, np.nan), np.where(moved, time_p, np.nan)])
    adjusted = _adjust(tested)
    rate = 1 - confidence
    changed = both_mask & (
        (adjusted[: len(joined)] <= rate) | (moved & (adjusted[len(joined) :] <= rate))
    )
    joined["status"] = np.select(
        [joined["cases_a"] == 0, joined["cases_b"] == 0, changed],
        ["appeared", "disappeared", "changed"],
        default="same",
    )
    order = {"appeared": 0, "disappeared": 1, "changed": 2, "same": 3}
    joined = joined.sort_values(
        ["status", "cases_b", "cases_a"],
        key=lambda s: s.map(order) if s.name == "status" else -s,
    )
    return joined[columns].reset_index(drop=True)


def _adjust(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN: not tested)."""
    adjusted = np.full(len(p_values), np.nan)
    tested = np.flatnonzero(~np.isnan(p_values))
    if not len(tested):
        return adjusted
    order = tested[np.argsort(p_values[tested], kind="stable")]
    scaled = p_values[order] * len(order) / np.arange(1, len(order) + 1)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return adjusted


_BLOCKER_COLUMNS: Final = [
    "category", "reason", "activity", "rank_a", "rank_b", "per_case_a_h", "per_case_b_h",
    "status",
]  # fmt: skip


def _blockers(
    a: EventTable, b: EventTable, profile: Profile, groups: Mapping[str, str] | None
) -> pd.DataFrame:
    frames = []
    for side, table in (("a", a), ("b", b)):
        found = find_blockers(table, profile=profile, groups=groups).to_frame()
        if found.empty:
            found = pd.DataFrame(columns=["category", "reason", "activity", "rank", "waiting_h"])
        frames.append(
            pd.DataFrame(
                {
                    "category": found["category"],
                    "reason": found["reason"],
                    "activity": found["activity"],
                    f"rank_{side}": found["rank"],
                    f"per_case_{side}_h": found["waiting_h"].astype(float) / table.n_cases,
                }
            )
        )
    joined = frames[0].merge(frames[1], on=["category", "reason", "activity"], how="outer")
    joined["status"] = np.select(
        [
            joined["rank_a"].isna(),
            joined["rank_b"].isna(),
            joined["per_case_b_h"] > joined["per_case_a_h"],
        ],
        ["new", "gone", "worse"],
        default="better",
    )
    joined = joined.sort_values(["rank_b", "rank_a"], na_position="last")
    return joined[_BLOCKER_COLUMNS].reset_index(drop=True)


def _censored(row: Mapping[Any, Any], a: str, b: str, *, locale: str, nl: bool) -> str:
    """A warning when many cases of a set still ran at the log's end (see
    :func:`_still_open`)."""
    parts = []
    for label, side in ((a, "a"), (b, "b")):
        still_open = int(row[f"open_{side}"])
        judged = int(row[f"measured_{side}"]) + still_open
        if judged and still_open / judged >= _OPEN_SHARE:
            count = format_decimal(still_open, format="#,##0", locale=locale)
            parts.append(f"{label}: {count}")
    if not parts:
        return ""
    if nl:
        return (
            f" Let op: zaken waarvan de termijn bij het einde van het log nog liep tellen "
            f"niet mee ({', '.join(parts)}); alleen de snelle daarvan zijn al gemeten, dus "
            f"de naleving kan te hoog zijn. Vergelijk perioden die ruim voor het einde "
            f"van het log ophouden."
        )
    return (
        f" Caution: cases whose term still ran when the log ended are left out "
        f"({', '.join(parts)}); only the quick ones among them are measured yet, so the "
        f"compliance may be too high. Compare periods that end well before the log does."
    )


def _difference(
    name: str, row: Mapping[Any, Any], a: str, b: str, *, locale: str, nl: bool, percent: bool
) -> str:
    def shown(value: float) -> str:
        if value != value:
            return "-"
        if percent:
            return format_percent(value, format="#,##0.0%", locale=locale)
        return format_decimal(value, format="#,##0.0", locale=locale)

    value_a = row["compliance_a"] if percent else row["a"]
    value_b = row["compliance_b"] if percent else row["b"]
    text = f"{name}: {a} {shown(value_a)}, {b} {shown(value_b)}"
    if row["significant"] is None:
        return text + "."
    interval = f"{shown(row['low'])} .. {shown(row['high'])}"
    if nl:
        verdict = "significant" if row["significant"] else "niet significant"
        return text + f"; verschil {shown(row['delta'])} ({interval}, {verdict})."
    verdict = "significant" if row["significant"] else "not significant"
    return text + f"; difference {shown(row['delta'])} ({interval}, {verdict})."
