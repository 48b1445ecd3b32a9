"""Conformance of a log against a process model (a protocol drawn in BPMN, or a discovered one).

Two of pm4py's checks, each on variants (a variant is replayed once and
counts for all its cases, so the result equals pm4py's on the whole log):

* **Token replay** on every case: log fitness by pm4py's formula,
  ``0.5 (1 - missing/consumed) + 0.5 (1 - remaining/produced)`` summed over
  all cases, the share of cases that fit, and per case its trace fitness.
* **Alignments** on a random sample of cases, within a time budget: the
  cheapest way to run each sampled trace through the model, which says per
  activity how often it was *skipped* (the model needed it, the case did not
  do it), *inserted* (the case did it where the model has no place for it)
  or done *out of order* (the case did it, but not where the model wanted it:
  in one alignment the same activity has both a log move and a model move;
  each such pair counts once as out of order, not as skipped plus
  inserted). Variants are aligned most sampled first until the budget is
  spent, none taking more than a tenth of it; the result says how many
  sampled cases it covers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from html import escape
from typing import Any, Final

import numpy as np
import pandas as pd

from knelpunt.errors import ModelError
from knelpunt.mining.maps import case_variants
from knelpunt.mining.models import (
    COMPLETIONS,
    HasVariants,
    ProcessModel,
    given_variants,
    quiet_pm4py,
    to_pm4py,
    traces,
)
from knelpunt.mining.projection import EventTable

__all__ = ["ACTIVITY_COLUMNS", "VARIANT_COLUMNS", "Conformance", "check_conformance"]

ACTIVITY_COLUMNS: Final = (
    "activity",
    "in_model",
    "in_log",
    "executions",
    "skipped",
    "inserted",
    "out_of_order",
)
VARIANT_COLUMNS: Final = (
    "variant",
    "activities",
    "cases",
    "fits",
    "trace_fitness",
    "missing_tokens",
    "remaining_tokens",
    "sampled",
    "aligned",
    "alignment_fitness",
)
_SKIP: Final = ">>"


@dataclass(frozen=True, slots=True)
class Conformance:
    """How well a log follows a model.

    Attributes:
        fitness: token-replay log fitness over all cases (pm4py's formula), 0-1.
        fitting_share: the share of cases that replay without a missing or
            remaining token.
        mean_trace_fitness: the mean of the cases' trace fitness.
        cases: per case: source_id, case_id, variant, fits, trace_fitness.
        variants: per variant (see :data:`VARIANT_COLUMNS`), most frequent first.
        activities: per activity, in the aligned sample: executions, and how
            often it was skipped, inserted or done out of order (counts of
            cases' moves, see the module notes); in_model / in_log say where
            the activity occurs at all.
        alignment_fitness: the mean alignment fitness of the aligned sample
            cases, or None when none could be aligned in the budget.
        sampled_cases: cases drawn for alignment.
        aligned_cases: sampled cases whose variant was aligned in the budget.
        timed_out: variants whose alignment ran out of time.
        model: where the model came from.
        filters: the filters the log was seen through (including the lifecycle one).
        notes: what a reader must know (activities only in the model or only
            in the log, an incomplete sample).
    """

    fitness: float
    fitting_share: float
    mean_trace_fitness: float
    cases: pd.DataFrame
    variants: pd.DataFrame
    activities: pd.DataFrame
    alignment_fitness: float | None
    sampled_cases: int
    aligned_cases: int
    timed_out: int
    model: str
    filters: tuple[str, ...]
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per case (see :attr:`cases`)."""
        return self.cases

    def _repr_html_(self) -> str:
        head = (
            f"<p>Fitness {self.fitness:.3f}; {self.fitting_share:.1%} of the cases fit "
            f"{escape(self.model)}</p>"
        )
        return head + self.variants.head(10).to_html(index=False)


def check_conformance(
    table: EventTable | HasVariants | pd.DataFrame,
    model: ProcessModel,
    *,
    sample: int | None = 1000,
    time_budget: float = 30.0,
    seed: int = 0,
    lifecycles: Collection[str] | None = COMPLETIONS,
) -> Conformance:
    """Check the events against a model: token replay on all cases, alignments on a sample.

    Both steps work on the variants and their counts, so these may also be computed
    elsewhere: by :func:`knelpunt.compute_relational` on Spark, for a log whose
    variants fit in memory but whose events do not.

    Args:
        table: the events; or the variants with their counts: a
            :class:`~knelpunt.RelationalResult` (its case table gives the per-case
            rows) or a frame with ``activities`` and ``cases`` (no per-case rows).
            Variants computed elsewhere are checked as they are (``lifecycles`` is
            for event tables).
        model: the protocol (:func:`~knelpunt.read_model`) or a discovered model.
        sample: how many cases (drawn at random) to align; None aligns all.
        time_budget: seconds the alignments may take in all (token replay is
            not limited); variants not aligned in time are left out of the
            per-activity counts, and the result says how many.
        seed: the random seed of the sample.
        lifecycles: check only events with these lifecycle transitions (and
            events without one); None checks every event.

    Raises:
        ModelError: no activity of the model occurs in the log (the names must
            match), or the log has no events.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=5, seed=1), name="demo")
        ...     events = kp.load_events(store)
        >>> result = kp.check_conformance(events, kp.discover_model(events, noise=0.0))
        >>> result.fitness, result.fitting_share
        (1.0, 1.0)
    """
    if sample is not None and sample < 1:
        raise ModelError(f"sample must be at least 1 case (or None for all), not {sample}.")
    if time_budget <= 0:
        raise ModelError(f"time_budget must be a positive number of seconds, not {time_budget}.")
    if isinstance(table, EventTable):
        used, variants = traces(table, lifecycles=lifecycles)
        cases = pd.DataFrame(
            {
                "source_id": used.case_sources,
                "case_id": used.case_ids,
                "variant": case_variants(used),
            }
        )
        filters = used.filters
    else:
        variants, cases = _given(table)
        filters = ()
    if variants.empty:
        raise ModelError("There are no events to check; record a log or widen the filters.")
    paths = [tuple(str(a) for a in v) for v in variants["activities"]]
    counts = variants["cases"].to_numpy(dtype=np.int64)
    in_log = {a for path in paths for a in path}
    in_model = set(model.activities)
    if not in_log & in_model:
        raise ModelError(
            f"None of the model's {len(in_model)} activities occurs in the log, so the log "
            f"cannot be checked against it. The names must match exactly: the model has "
            f"{_some(in_model)}; the log has {_some(in_log)}."
        )
    net, initial, final = to_pm4py(model.net)
    replayed = _replay(paths, net, initial, final)
    fits = np.array([r["trace_is_fit"] for r in replayed], dtype=bool)
    trace_fitness = np.array([r["trace_fitness"] for r in replayed], dtype=float)
    tokens = {
        key: np.array([r[f"{key}_tokens"] for r in replayed], dtype=np.int64)
        for key in ("missing", "consumed", "remaining", "produced")
    }
    consumed = int((tokens["consumed"] * counts).sum())
    produced = int((tokens["produced"] * counts).sum())
    fitness = 0.0
    if consumed > 0 and produced > 0:
        fitness = 0.5 * (1 - int((tokens["missing"] * counts).sum()) / consumed) + 0.5 * (
            1 - int((tokens["remaining"] * counts).sum()) / produced
        )
    total = int(counts.sum())

    drawn = _draw(counts, sample, seed)
    aligned = _align(paths, drawn, net, initial, final, time_budget)
    moves: Counter[tuple[str, str]] = Counter()
    alignment_fitness = np.full(len(paths), np.nan)
    for k, found in aligned.items():
        if found is None:
            continue
        alignment_fitness[k] = float(found["fitness"])
        for key, n in _deviations(found["alignment"]).items():
            moves[key] += n * int(drawn[k])
    done = np.array([k in aligned and aligned[k] is not None for k in range(len(paths))])
    aligned_cases = int(drawn[done].sum())
    timed_out = sum(1 for found in aligned.values() if found is None)

    frame = pd.DataFrame(
        {
            "variant": variants["variant"].to_numpy(),
            "activities": variants["activities"].to_numpy(),
            "cases": counts,
            "fits": fits,
            "trace_fitness": trace_fitness,
            "missing_tokens": tokens["missing"],
            "remaining_tokens": tokens["remaining"],
            "sampled": drawn,
            "aligned": done,
            "alignment_fitness": alignment_fitness,
        }
    )
    per_case = cases.merge(
        frame[["variant", "fits", "trace_fitness"]], on="variant", how="left", validate="m:1"
    )
    names = sorted(in_log | in_model)
    activities = pd.DataFrame(
        {
            "activity": names,
            "in_model": [a in in_model for a in names],
            "in_log": [a in in_log for a in names],
            **{
                kind: np.array([moves[(kind, a)] for a in names], dtype=np.int64)
                for kind in ("executions", "skipped", "inserted", "out_of_order")
            },
        }
    )
    sampled_cases = int(drawn.sum())
    return Conformance(
        fitness=float(fitness),
        fitting_share=float((fits * counts).sum() / total),
        mean_trace_fitness=float((trace_fitness * counts).sum() / total),
        cases=per_case,
        variants=frame,
        activities=activities,
        alignment_fitness=(
            float(np.nansum(alignment_fitness * drawn) / aligned_cases) if aligned_cases else None
        ),
        sampled_cases=sampled_cases,
        aligned_cases=aligned_cases,
        timed_out=timed_out,
        model=model.origin,
        filters=filters,
        notes=_notes(in_model, in_log, sampled_cases, aligned_cases, timed_out, time_budget),
    )


def _given(table: HasVariants | pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The variants (numbered 1, 2, ... when the frame has no numbers) and the per-case
    rows (source_id, case_id, variant) of variants computed elsewhere."""
    variants = given_variants(table)
    if "variant" not in variants.columns:
        variants = variants.assign(variant=np.arange(1, len(variants) + 1, dtype=np.int64))
    cases = getattr(table, "cases", None)
    if not isinstance(cases, pd.DataFrame):
        cases = pd.DataFrame({"source_id": [], "case_id": [], "variant": []})
    return variants, cases[["source_id", "case_id", "variant"]]


def _some(names: set[str], n: int = 5) -> str:
    shown = ", ".join(repr(a) for a in sorted(names)[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def _log(paths: list[tuple[str, ...]]) -> Any:
    from pm4py.objects.log.obj import Event, EventLog, Trace

    return EventLog([Trace([Event({"concept:name": a}) for a in path]) for path in paths])


def _replay(paths: list[tuple[str, ...]], net: Any, initial: Any, final: Any) -> list[Any]:
    from pm4py.algo.conformance.tokenreplay import algorithm as token_replay

    parameters = {"show_progress_bar": False}
    result: list[Any] = token_replay.apply(_log(paths), net, initial, final, parameters=parameters)
    return result


def _draw(counts: np.ndarray, sample: int | None, seed: int) -> np.ndarray:
    """Per variant, how many of its cases a uniform random sample of cases holds."""
    if sample is None or sample >= int(counts.sum()):
        return counts.copy()
    rng = np.random.default_rng(seed)
    return rng.multivariate_hypergeometric(counts, sample).astype(np.int64)


def _align(
    paths: list[tuple[str, ...]],
    drawn: np.ndarray,
    net: Any,
    initial: Any,
    final: Any,
    budget: float,
) -> dict[int, Any]:
    """Alignments of the drawn variants, most drawn first, until the budget is spent.

    No single trace gets more than a tenth of the budget. Returns variant
    index → pm4py's alignment (None when it timed out); variants not reached
    are missing.
    """
    from pm4py.algo.conformance.alignments.petri_net import algorithm as alignments

    order = sorted(np.flatnonzero(drawn).tolist(), key=lambda k: (-int(drawn[k]), k))
    if not order:
        return {}
    log = _log([paths[k] for k in order])
    parameters: dict[Any, Any] = {"show_progress_bar": False}
    engine = alignments.DEFAULT_VARIANT.value
    with quiet_pm4py():
        best_worst = engine.get_best_worst_cost(net, initial, final, parameters=dict(parameters))
    parameters[alignments.Parameters.BEST_WORST_COST_INTERNAL] = best_worst
    deadline = time.perf_counter() + budget
    found: dict[int, Any] = {}
    for k, trace in zip(order, log, strict=True):
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        # One hard trace may not eat the budget of all the others.
        parameters[alignments.Parameters.PARAM_MAX_ALIGN_TIME_TRACE] = min(left, budget / 10)
        with quiet_pm4py():
            found[k] = alignments.apply_trace(trace, net, initial, final, parameters=parameters)
    return found


def _deviations(alignment: list[tuple[Any, Any]]) -> Counter[tuple[str, str]]:
    """Per (kind, activity), the moves of one alignment; see the module notes."""
    log_moves: Counter[str] = Counter()
    model_moves: Counter[str] = Counter()
    out: Counter[tuple[str, str]] = Counter()
    for in_log, in_model in alignment:
        if in_log != _SKIP and in_model != _SKIP:
            out[("executions", str(in_log))] += 1
        elif in_log != _SKIP:
            out[("executions", str(in_log))] += 1
            log_moves[str(in_log)] += 1
        elif in_model is not None:
            model_moves[str(in_model)] += 1
    for activity in log_moves | model_moves:
        moved = min(log_moves[activity], model_moves[activity])
        out[("out_of_order", activity)] += moved
        out[("inserted", activity)] += log_moves[activity] - moved
        out[("skipped", activity)] += model_moves[activity] - moved
    return out


def _notes(
    in_model: set[str],
    in_log: set[str],
    sampled: int,
    aligned: int,
    timed_out: int,
    budget: float,
) -> tuple[str, ...]:
    notes = []
    if only_model := in_model - in_log:
        notes.append(
            f"{len(only_model)} model activities never occur in the log ({_some(only_model)}): "
            "every case skips them; check the names if that is unexpected."
        )
    if only_log := in_log - in_model:
        notes.append(
            f"{len(only_log)} log activities are not in the model ({_some(only_log)}): every "
            "execution of them counts as inserted."
        )
    if aligned < sampled:
        notes.append(
            f"Alignments covered {aligned:,} of {sampled:,} sampled cases in the {budget:g} s "
            f"budget ({timed_out} variant(s) timed out); the per-activity counts are of "
            "those cases. Raise the time budget for all of them."
        )
    return tuple(notes)
