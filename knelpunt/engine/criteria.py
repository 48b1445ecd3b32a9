"""The policy criteria on the engines: each source's cases judged where the events are.

A criterion is judged per case (:func:`knelpunt.evaluate_criteria`): its window
opens and closes at activities of the case, its term counts the profile's
calendar days or working days, a share reads the case's attributes. A source is
one organisation (a municipality) and its cases are judged apart from any other
source's, so the engines filter the events where they are and each source's
events are judged as a whole: on Spark one executor task per source (a grouped
map, ``applyInPandas``; the executors need knelpunt), on DuckDB one source after
the other in this process. What comes back is one scorecard row per source and
criterion: the compliance per municipality, and summed, of all of them.

Not done here: tracing breaches to their blockers (the links of
``evaluate_criteria``), which needs every wait of the source split and ranked;
run :func:`knelpunt.evaluate_criteria` on a source's events for that.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import pandas as pd

from knelpunt.analysis.criteria import choose_criteria, evaluate_criteria, met_target
from knelpunt.api import case_attributes_of
from knelpunt.engine.filters import EventFilter
from knelpunt.errors import MappingError
from knelpunt.mining.projection import EventTable, table_from_frame
from knelpunt.policy import Criterion
from knelpunt.profile import Profile, read_profile
from knelpunt.schema import CASE_ID_KEY, SOURCE_KEY

if TYPE_CHECKING:
    from knelpunt.engine.backends import Engine

__all__ = ["CriteriaScores", "compute_criteria"]

_CARD: Final = (
    ("source_id", "long"),
    ("criterion", "string"),
    ("name", "string"),
    ("kind", "string"),
    ("reference", "string"),
    ("cases", "long"),
    ("measured", "long"),
    ("passed", "long"),
    ("breached", "long"),
    ("not_measurable", "long"),
    ("compliance", "double"),
    ("target", "double"),
    ("direction", "string"),
    ("met", "boolean"),
    ("median_value", "double"),
    ("unit", "string"),
    ("not_measurable_reasons", "string"),
    ("notes", "string"),
)
_COUNTS: Final = ("cases", "measured", "passed", "breached", "not_measurable")
_EVENT_COLUMNS: Final = ("source_id", "case_id", "activity", "resource", "lifecycle", "time_us")


@dataclass(frozen=True, slots=True)
class CriteriaScores:
    """The policy criteria judged per source by an engine.

    Attributes:
        by_source: one row per source and criterion, the columns of
            :meth:`knelpunt.CriteriaResult.scorecard` with ``source_id`` first
            (``not_measurable_reasons`` as a mapping).
        criteria: the criteria judged.
        notes: per source, what a reader must know.
        engine: ``"duckdb"`` or ``"spark"``.
        filters: what the filters kept, in words.
    """

    by_source: pd.DataFrame
    criteria: tuple[Criterion, ...]
    notes: dict[int, tuple[str, ...]]
    engine: str
    filters: tuple[str, ...] = ()

    def totals(self) -> pd.DataFrame:
        """One row per criterion over every source: the cases counted, measured, passed,
        breached and not measurable, the compliance and whether it meets the target (a
        median of the sources' values is no median of the whole, so none is given)."""
        summed = (
            self.by_source.groupby("criterion", sort=False)[list(_COUNTS)]
            .sum()
            .reindex([c.id for c in self.criteria], fill_value=0)
        )
        sources = self.by_source.groupby("criterion", sort=False)["source_id"].nunique()
        rows = []
        for criterion, counts in zip(self.criteria, summed.to_dict("records"), strict=True):
            measured = int(counts["measured"])
            compliance = int(counts["passed"]) / measured if measured else float("nan")
            rows.append(
                {
                    "criterion": criterion.id,
                    "name": criterion.name,
                    **{c: int(counts[c]) for c in _COUNTS},
                    "compliance": compliance,
                    "target": criterion.target,
                    "direction": criterion.direction,
                    "met": met_target(criterion, compliance),
                    "sources": int(sources.get(criterion.id, 0)),
                }
            )
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """The per-source scorecards (see :attr:`by_source`)."""
        return self.by_source

    def _repr_html_(self) -> str:
        shown = self.totals()[["criterion", "measured", "compliance", "target", "met"]]
        return (
            f"<p>{len(self.criteria)} criteria judged on "
            f"{self.by_source['source_id'].nunique():,} source(s) by {self.engine}.</p>"
            + shown.to_html(index=False, float_format="{:.3f}".format)
        )


def compute_criteria(
    events: str | Path | None = None,
    *,
    table: str | None = None,
    engine: Engine = "duckdb",
    spark: Any = None,
    profile: Profile | str | None = None,
    criteria: Sequence[Criterion | str] | None = None,
    filters: EventFilter | None = None,
    per: Literal["source"] | None = "source",
) -> CriteriaScores:
    """Judge the policy criteria per source, where the events are (DuckDB or Spark).

    Each source's cases are judged as :func:`knelpunt.evaluate_criteria` judges them
    (without tracing breaches to blockers), with the case attributes the Parquet files
    or the table carry (``case:...`` columns and any other).

    Args:
        events: the path (on Spark also the storage URL) of a Parquet file or folder in
            the columns :func:`knelpunt.export_log` writes.
        table: instead of ``events``, a table of the Spark session.
        engine: ``"duckdb"`` or ``"spark"``.
        spark: the SparkSession to use.
        profile: a :class:`Profile` or the name or path of one (default ``generiek``).
        criteria: the criteria to judge (default: all of the profile's).
        filters: judge only the events these filters keep.
        per: ``"source"`` judges each source apart (one organisation each: a household
            or person in two sources counts twice, and the sources are judged in
            parallel); None judges the whole log as one organisation, in one task (one
            row per criterion, ``source_id`` 0), as ``evaluate_criteria`` does.

    Returns:
        One scorecard row per source and criterion; :meth:`CriteriaScores.totals` sums
        them.

    Raises:
        MappingError: events given as an event table (use evaluate_criteria), or
            Parquet without the columns needed.
        EngineError: as :func:`knelpunt.compute_relational`.
        ProfileError: the profile or a criterion cannot be read.

    Example:
        >>> import pathlib, tempfile
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.simulate_scenario(store, "baseline", seed=1, overrides=["days=60"])
        ...     folder = kp.export_log(store, pathlib.Path(tempfile.mkdtemp()) / "events",
        ...                            partition_by=("source", "month"))
        >>> found = kp.compute_criteria(folder, profile="sociaal-domein")
        >>> bool(found.totals().set_index("criterion").loc["wmo-onderzoek", "measured"] > 0)
        True

    .. versionadded:: 0.1
    """
    from knelpunt.engine.backends import open_backend

    if isinstance(events, EventTable):
        raise MappingError(
            "compute_criteria reads the events where they are (a Parquet path or a Spark "
            "table); for an event table in memory use kp.evaluate_criteria(events, "
            "profile=..., store=store)."
        )
    chosen = read_profile(profile) if isinstance(profile, str) else profile
    chosen = chosen or read_profile("generiek")
    wanted = list(criteria) if criteria is not None else None
    # The criteria are chosen here, once, so a wrong id is said before the engine runs.
    judged = choose_criteria(chosen, wanted)
    task = partial(_judge_source, profile=chosen, criteria=judged)
    with open_backend(engine, spark=spark) as backend:
        relation = backend.events(events, table=table, attributes=True)
        relation, said = (filters or EventFilter()).apply(backend, relation)
        relation = relation.drop("seen", "clock_us", "midnight_us", "clock_mid_us")
        relation = relation.mutate(_part=relation.source_id if per == "source" else 0)
        if backend.engine == "spark":
            rows = backend.session.sql(backend.connection.compile(relation))
            schema = ", ".join(f"{name} {kind}" for name, kind in _CARD)
            split = rows.groupBy("_part").applyInPandas(task, schema=schema)
            cards: pd.DataFrame = backend.collect(split).to_pandas()
        else:
            frame = backend.run(relation).to_pandas()
            parts = [task(group) for _, group in frame.groupby("_part", sort=True)]
            cards = (
                pd.concat(parts, ignore_index=True)
                if parts
                else pd.DataFrame({name: [] for name, _ in _CARD})
            )
    order = {c.id: k for k, c in enumerate(judged)}
    cards = cards.assign(_order=cards["criterion"].map(order)).sort_values(["source_id", "_order"])
    firsts = cards.groupby("source_id")["notes"].first()
    notes = {
        int(source): tuple(str(text).split("\n")) if text else ()
        for source, text in zip(firsts.index.tolist(), firsts.tolist(), strict=True)
    }
    cards = reasons_from_text(cards.drop(columns=["_order", "notes"]).reset_index(drop=True))
    return CriteriaScores(
        by_source=cards,
        criteria=tuple(judged),
        notes=notes,
        engine=backend.engine,
        filters=said,
    )


def reasons_as_text(card: pd.DataFrame) -> pd.DataFrame:
    """``card`` with its ``not_measurable_reasons`` (mappings) as JSON text, the form
    Spark and Parquet hold them in; :func:`reasons_from_text` reads them back."""
    texts = [json.dumps(r, ensure_ascii=False) for r in card["not_measurable_reasons"]]
    return card.assign(not_measurable_reasons=texts)


def reasons_from_text(card: pd.DataFrame) -> pd.DataFrame:
    """``card`` with its ``not_measurable_reasons`` read back from JSON text."""
    return card.assign(
        not_measurable_reasons=[json.loads(r) for r in card["not_measurable_reasons"]]
    )


def _judge_source(
    frame: pd.DataFrame, *, profile: Profile, criteria: Sequence[Criterion]
) -> pd.DataFrame:
    """One part's events judged (a source, or all): its scorecard rows (runs on an
    executor)."""
    source = int(frame["_part"].iloc[0])
    frame = frame.drop(columns="_part").sort_values("position", kind="stable")
    events = table_from_frame(frame[[*_EVENT_COLUMNS, "position"]])
    extra = [c for c in frame.columns if c not in (*_EVENT_COLUMNS, "position")]
    attributes = case_attributes_of(
        frame[["source_id", "case_id", *extra]].rename(
            columns={"source_id": SOURCE_KEY, "case_id": CASE_ID_KEY}
        )
    )
    found = evaluate_criteria(
        events, profile=profile, criteria=list(criteria), attributes=attributes, blockers=False
    )
    card = found.scorecard()
    card = reasons_as_text(card)
    card.insert(0, "source_id", source)
    card["target"] = card["target"].astype(float)
    card["notes"] = "\n".join(found.notes)
    return card[[name for name, _ in _CARD]]
