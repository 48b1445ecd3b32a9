"""The HTML report: one self-contained file a policy advisor can open or mail.

:func:`report` runs the analysis a director needs (the log's size and throughput,
the blockers with their evidence, the policy-goal scorecard, the process map and,
when two sets are given, their comparison) and writes it as one HTML file in
Dutch or English. The file carries its own styles, figures and script (Plotly's,
inline), so it works offline and loads nothing from elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from knelpunt.analysis.blockers import Blockers, find_blockers
from knelpunt.analysis.compare import Comparison, compare
from knelpunt.analysis.criteria import CriteriaResult, evaluate_criteria
from knelpunt.analysis.overview import LogSummary, summarise_log
from knelpunt.analysis.waiting import PARTS
from knelpunt.errors import AnalysisError
from knelpunt.mining.filters import simplify_map
from knelpunt.mining.instances import pair_instances
from knelpunt.mining.maps import ProcessMap, discover_map
from knelpunt.profile import Profile, read_profile
from knelpunt.reports.texts import TEXTS, language, number, percent, t

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from knelpunt.events.store import EventStore
    from knelpunt.mining.projection import EventTable

__all__ = ["PLOTLY_JS", "Report", "report"]

# plotly.js's cartesian bundle (bar, scatter, heatmap, histogram, box; 1.5 MB, MIT
# licence beside it), the version plotly.py draws for: a third of the full bundle,
# so the report mails and the dashboard's pages start sooner.
PLOTLY_JS: Final = Path(__file__).with_name("plotly-cartesian.min.js")

# The blockers listed, and those drawn in the trend.
_LISTED: Final = 15
_TRENDED: Final = 5
# The share of the map's paths drawn (the most frequent, kept connected).
_PATHS: Final = 0.3
_SIGNIFICANT_LINES: Final = 6


@dataclass(frozen=True, slots=True)
class Report:
    """A written report.

    Attributes:
        html: the whole file, ready to save or send.
        lang: its language, ``"nl"`` or ``"en"``.
        title: its title.
        path: where it was written, when it was.
    """

    html: str
    lang: str
    title: str
    path: Path | None = None

    def write(self, path: str | Path) -> Path:
        """Save the report to ``path`` (UTF-8) and return the path."""
        target = Path(path)
        try:
            target.write_text(self.html, encoding="utf-8")
        except OSError as error:
            raise AnalysisError(
                f"{target}: the report could not be written ({error.strerror}); choose a "
                "folder you may write to."
            ) from error
        return target

    def _repr_html_(self) -> str:
        # In a notebook: the report in a frame of its own, so its styles stay inside.
        return (
            f'<iframe srcdoc="{escape(self.html, quote=True)}" title="{escape(self.title)}" '
            'style="width:100%;height:640px;border:1px solid #ccc"></iframe>'
        )


def report(
    events: EventTable,
    *,
    profile: Profile | str | None = None,
    lang: str = "nl",
    title: str | None = None,
    store: EventStore | None = None,
    attributes: pd.DataFrame | None = None,
    groups: Mapping[str, str] | None = None,
    versus: tuple[EventTable, EventTable] | None = None,
    labels: tuple[str, str] = ("A", "B"),
    source_names: Mapping[int, str] | None = None,
    summary: LogSummary | None = None,
    blockers: Blockers | None = None,
    criteria: CriteriaResult | None = None,
    process_map: ProcessMap | None = None,
    comparison: Comparison | None = None,
    out: str | Path | None = None,
) -> Report:
    """Write the findings on these events as one self-contained HTML file.

    Args:
        events: the events (:func:`knelpunt.load_events`, filtered as wished).
        profile: the profile (activity classes, calendar, policy goals; default
            ``generiek``).
        lang: ``"nl"`` (default) or ``"en"``.
        title: the report's title (default: the language's standard one).
        store: where case attributes are read for policy goals that need them.
        attributes, groups: case attributes and per resource its team, as for
            :func:`knelpunt.evaluate_criteria`.
        versus: two sets of cases to compare (say, two sources, or
            :func:`knelpunt.select_cases` before and after a change), named ``labels``.
        source_names: per source id its name, for the report's heading.
        summary, blockers, criteria, process_map, comparison: results already
            computed on these events (the dashboard keeps them); the missing ones
            are computed here.
        out: also save the report to this path.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=30, seed=2), name="demo")
        ...     written = kp.report(kp.load_events(store), lang="en", store=store)
        >>> written.html.startswith("<!DOCTYPE html>"), "Blockers" in written.html
        (True, True)
    """
    if lang not in ("nl", "en"):
        raise AnalysisError(f"Write the report in nl or en, not {lang!r}.")
    chosen = profile if isinstance(profile, Profile) else read_profile(profile or "generiek")
    if summary is None:
        summary = summarise_log(events, zone=chosen.calendar.timezone)
    if summary.cases and blockers is None:
        blockers = find_blockers(events, profile=chosen, groups=groups)
    if summary.cases and criteria is None and chosen.criteria:
        criteria = evaluate_criteria(
            events,
            profile=chosen,
            store=store,
            attributes=attributes,
            groups=groups,
            blockers=blockers if blockers is not None else False,
        )
    if summary.cases and process_map is None:
        process_map = discover_map(pair_instances(events))
    if versus is not None and comparison is None:
        comparison = compare(
            *versus,
            labels=labels,
            profile=chosen,
            store=store,
            attributes=attributes,
            groups=groups,
        )
    page = _Page(language(lang), title or t(lang, "title"))
    page.head(chosen.name, events, source_names or {})
    if summary.cases == 0:
        page.add("summary", f"<p>{escape(t(lang, 'empty'))}</p>")
    else:
        page.summary(summary, blockers, criteria, comparison)
        if blockers is not None:
            page.blockers(blockers)
        if criteria is not None and criteria.criteria:
            page.goals(criteria)
        if process_map is not None:
            page.process_map(process_map, blockers)
        page.throughput(summary)
    if comparison is not None:
        page.comparison(comparison)
    notes = [
        *(blockers.notes if blockers is not None else ()),
        *(criteria.notes if criteria is not None else ()),
        *(process_map.notes if process_map is not None else ()),
    ]
    if notes:
        page.add("notes", _list(dict.fromkeys(notes)))
    written = Report(html=page.html(), lang=page.lang, title=page.title)
    if out is not None:
        return Report(written.html, written.lang, written.title, written.write(out))
    return written


class _Page:
    """The report as it is written: sections in order, figures kept apart."""

    def __init__(self, lang: str, title: str) -> None:
        self.lang = lang
        self.title = title
        self.intro = ""
        self.sections: list[tuple[str, str]] = []
        self.figures = 0

    def text(self, key: str, **values: object) -> str:
        return escape(t(self.lang, key, **values))

    def add(self, key: str, content: str) -> None:
        self.sections.append(
            (key, f'<section id="{key}"><h2>{self.text(key)}</h2>{content}</section>')
        )

    def head(self, profile: str, events: EventTable, names: Mapping[int, str]) -> None:
        from knelpunt import __version__

        when = dt.datetime.now(dt.UTC).astimezone().strftime("%d-%m-%Y %H:%M")
        sources = [names.get(int(s), f"#{int(s)}") for s in np.unique(events.case_sources)]
        shown = f"<p>{self.text('sources')}: {escape(', '.join(sources))}</p>" if sources else ""
        generated = self.text("generated", when=when, version=__version__, profile=profile)
        self.intro = f'<p class="meta">{generated}</p>{shown}'

    def figure(self, fig: go.Figure, *, height: int = 320) -> str:
        from knelpunt.reports.figures import house_style

        self.figures += 1
        drawn = house_style(fig, height=height).to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"figure-{self.figures}",
            config={"displaylogo": False, "responsive": True},
        )
        return f'<div class="figure">{drawn}</div>'

    def summary(
        self,
        summary: LogSummary,
        blockers: Blockers | None,
        criteria: CriteriaResult | None,
        comparison: Comparison | None,
    ) -> None:
        lang = self.lang
        q = summary.quantiles()
        zone = summary.zone
        lines = [
            self.text(
                "summary.size",
                cases=number(summary.cases, lang, 0),
                events=number(summary.events, lang, 0),
                start=_day(summary.start, zone),
                end=_day(summary.end, zone),
                median=number(q["median"], lang),
                p90=number(q["p90"], lang),
            )
        ]
        parts = ""
        if blockers is not None and blockers.blockers:
            # Hours of waiting per category, the unattributed ones said apart.
            hours = blockers.by_category().set_index("category")["waiting_h"]
            whole = float(hours.sum())
            attributed = hours.drop("unclassified")
            attributed = attributed[attributed > 0].sort_values(ascending=False)
            if whole > 0 and not attributed.empty:
                shares = [
                    t(
                        lang,
                        "summary.category",
                        share=percent(value / whole, lang),
                        category=t(lang, f"category.{category}"),
                    )
                    for category, value in attributed.items()
                ]
                lines.append(self.text("summary.categories", parts=", ".join(shares)))
            unclassified = float(hours.get("unclassified", 0.0))
            if whole > 0 and unclassified > 0:
                lines.append(
                    self.text("summary.unclassified", share=percent(unclassified / whole, lang))
                )
            top = [
                self.text(
                    "summary.blocker",
                    activity=b.activity,
                    category=t(lang, f"category.{b.category}"),
                    hours=number(b.waiting_work_s / 3600, lang, 0),
                    cases=number(b.cases, lang, 0),
                    before=number(b.cycle_time_s / 86_400, lang),
                    after=number(b.cycle_time_without_s / 86_400, lang),
                )
                for b in blockers.blockers[:3]
            ]
            parts += (
                f"<p>{self.text('summary.top')}</p><ol>{''.join(f'<li>{x}</li>' for x in top)}</ol>"
            )
        elif blockers is not None:
            lines.append(self.text("summary.none"))
        if criteria is not None and criteria.criteria:
            parts += f"<p>{self.text('summary.goals')}</p>{_list(criteria.summary(lang))}"
        if comparison is not None:
            said = comparison.summary(lang)[:_SIGNIFICANT_LINES]
            parts += f"<p>{self.text('summary.compare')}</p>{_list(said)}"
        content = "".join(f"<p>{line}</p>" for line in lines) + parts
        self.add("summary", f'<div class="summary">{content}</div>')

    def blockers(self, found: Blockers) -> None:
        from knelpunt.reports.figures import CATEGORY_COLOURS, blocker_trend, causes

        lang = self.lang
        listed = found.blockers[:_LISTED]
        rows = [
            [
                str(b.rank),
                f'<span class="swatch" style="background:{CATEGORY_COLOURS[b.category]}">'
                f"</span>{self.text(f'category.{b.category}')}",
                escape(b.activity),
                self.text(f"reason.{b.reason}")
                if f"reason.{b.reason}" in _REASONS
                else escape(b.reason),
                number(b.waiting_s / 3600, lang, 0),
                number(b.waiting_work_s / 3600, lang, 0),
                number(b.cases, lang, 0),
                f"{number(b.cycle_time_s / 86_400, lang)} → "
                f"{number(b.cycle_time_without_s / 86_400, lang)}",
                escape(b.evidence.get(lang) or b.evidence.get("en", "")),
            ]
            for b in listed
        ]
        header = [
            "column.rank", "column.category", "column.activity", "column.reason",
            "column.hours", "column.work_hours", "column.cases", "column.gain", "column.evidence",
        ]  # fmt: skip
        names = {cause: t(lang, f"cause.{cause}") for cause in PARTS}
        categories = {c: t(lang, f"category.{c}") for c in CATEGORY_COLOURS}
        shown = self.text("blockers.shown", shown=len(listed), count=len(found.blockers))
        content = (
            f"<p>{self.text('blockers.intro')}</p>"
            + f'<p class="note">{shown}</p>'
            + self.table([self.text(h) for h in header], rows, numbers=(0, 4, 5, 6), wide=8)
            + f"<h3>{self.text('blockers.causes')}</h3>"
            + self.figure(causes(found.split.totals(), names=names, hours=t(lang, "hours")))
            + f"<h3>{self.text('blockers.trend')}</h3>"
            + self.figure(
                blocker_trend(
                    found,
                    ranks=[b.rank for b in found.blockers[:_TRENDED]],
                    categories=categories,
                    hours=t(lang, "hours"),
                )
            )
        )
        self.add("blockers", content)

    def goals(self, found: CriteriaResult) -> None:
        from knelpunt.reports.figures import compliance, criteria_trend

        lang = self.lang
        card = found.scorecard(lang)
        rows = []
        for row in card.to_dict("records"):
            met = row["met"]
            state = "met" if met is True else ("missed" if met is False else "unknown")
            rows.append(
                [
                    escape(str(row["name"])),
                    number(row["measured"], lang, 0),
                    percent(row["compliance"], lang),
                    ("≤ " if row["direction"] == "at_most" else "≥ ")
                    + percent(row["target"], lang),
                    f'<span class="state-{state}">'
                    + (
                        self.text("yes")
                        if met is True
                        else self.text("no")
                        if met is False
                        else "-"
                    )
                    + "</span>",
                    number(row["not_measurable"], lang, 0),
                    escape(str(row.get("reference") or "")),
                ]
            )
        header = [
            "column.criterion", "column.measured", "column.compliance", "column.target",
            "column.met", "column.unmeasurable", "column.reference",
        ]  # fmt: skip
        measured = card[card["measured"] > 0]
        content = f"<p>{self.text('goals.intro')}</p>" + self.table(
            [self.text(h) for h in header], rows, numbers=(1, 2, 3, 5), wide=0
        )
        if not measured.empty:
            content += self.figure(
                compliance(
                    card,
                    shown=lambda v: percent(v, lang),
                    compliance_name=t(lang, "column.compliance"),
                    target_name=t(lang, "column.target"),
                ),
                height=max(260, 28 * len(measured) + 80),
            )
            content += f"<h3>{self.text('goals.trend')}</h3>" + self.figure(
                criteria_trend(found, compliance_name=t(lang, "column.compliance")), height=380
            )
        self.add("goals", content)

    def process_map(self, found: ProcessMap, blockers: Blockers | None) -> None:
        from knelpunt.reports.figures import map_svg

        lang = self.lang
        drawn = map_svg(
            simplify_map(found, paths=_PATHS),
            blockers=blockers,
            label=lambda n: number(n, lang, 0),
            title=t(lang, "map"),
        )
        intro = self.text("map.intro", paths=percent(_PATHS, lang))
        self.add("map", f'<p>{intro}</p><div class="map">{drawn}</div>')

    def throughput(self, summary: LogSummary) -> None:
        from knelpunt.reports.figures import months, throughput

        lang = self.lang
        content = self.figure(
            throughput(summary, x_title=t(lang, "throughput.x"), y_title=t(lang, "throughput.y"))
        ) + self.figure(
            months(
                summary,
                started=t(lang, "months.started"),
                ended=t(lang, "months.ended"),
                median=t(lang, "months.median"),
                cases=t(lang, "throughput.y"),
            )
        )
        self.add("throughput", content)

    def comparison(self, found: Comparison) -> None:
        lang = self.lang
        a, b = found.labels
        table = found.to_frame()
        rows = [
            [
                escape(str(row["kpi"])),
                number(row["a"], lang, 2),
                number(row["b"], lang, 2),
                number(row["delta"], lang, 2),
                f"{number(row['low'], lang, 2)} … {number(row['high'], lang, 2)}",
                self.text("yes") if row["significant"] else self.text("no"),
            ]
            for row in table.to_dict("records")
        ]
        header = [self.text("column.measure"), escape(a), escape(b)] + [
            self.text(k) for k in ("column.delta", "column.interval", "column.significant")
        ]
        intro = self.text(
            "compare.intro",
            a=a,
            b=b,
            confidence=percent(found.confidence, lang),
            resamples=number(found.resamples, lang, 0),
        )
        content = f"<p>{intro}</p>" + self.table(header, rows, numbers=(1, 2, 3, 4), wide=-1)
        changed = found.blockers[found.blockers["status"] != "same"].head(_LISTED)
        if not changed.empty:
            rows = [
                [
                    self.text(f"category.{row['category']}"),
                    escape(str(row["activity"])),
                    _rank(row["rank_a"]),
                    _rank(row["rank_b"]),
                    escape(str(row["status"])),
                ]
                for row in changed.to_dict("records")
            ]
            header = [
                self.text("column.category"),
                self.text("column.activity"),
                f"# {escape(a)}",
                f"# {escape(b)}",
                self.text("column.status"),
            ]
            content += f"<h3>{self.text('compare.blockers')}</h3>" + self.table(
                header, rows, numbers=(2, 3), wide=-1
            )
        self.add("compare", content)

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        numbers: Sequence[int],
        wide: int,
    ) -> str:
        """An HTML table of cells already escaped; ``numbers`` are right-aligned, the
        ``wide`` column may wrap."""

        def cell(tag: str, index: int, value: str) -> str:
            kind = "num" if index in numbers else ("wide" if index == wide else "")
            return f'<{tag} class="{kind}">{value}</{tag}>' if kind else f"<{tag}>{value}</{tag}>"

        head = "".join(cell("th", i, h) for i, h in enumerate(header))
        body = "".join(
            "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return f'<div class="table">{table}</div>'

    def html(self) -> str:
        contents = "".join(
            f'<li><a href="#{key}">{self.text(key)}</a></li>' for key, _ in self.sections
        )
        script = _plotly_js() if self.figures else ""
        return (
            f'<!DOCTYPE html><html lang="{self.lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(self.title)}</title><style>{_STYLE}</style>"
            f"{script}</head><body><main><header><h1>{escape(self.title)}</h1>{self.intro}"
            f'<nav aria-label="{self.text("contents")}"><ol>{contents}</ol></nav></header>'
            + "".join(section for _, section in self.sections)
            + "</main></body></html>"
        )


_REASONS: Final = frozenset(k for k in TEXTS["en"] if k.startswith("reason."))


def _plotly_js() -> str:
    # Inline, so that the file works offline; a "</script" inside would end it early.
    code = PLOTLY_JS.read_text(encoding="utf-8")
    return "<script>" + code.replace("</script", "<\\/script") + "</script>"


def _list(lines: Sequence[str] | Mapping[str, None]) -> str:
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


def _day(moment: dt.datetime | None, zone: str) -> str:
    return "-" if moment is None else f"{pd.Timestamp(moment).tz_convert(zone):%d-%m-%Y}"


def _rank(value: Any) -> str:
    return "-" if value != value or value is None else str(int(value))


_STYLE: Final = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a1a1a;margin:0;
background:#f5f7fa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px}
header,section{background:#fff;border:1px solid #d8dee6;border-radius:8px;padding:16px 24px;
margin-bottom:18px}
h1{margin:0 0 8px;font-size:1.7rem}h2{margin-top:0;font-size:1.3rem}h3{font-size:1.05rem}
.meta,.note{color:#4a5561;font-size:.9rem}
nav ol{columns:2;margin:8px 0 0}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e3e8ee;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6}
td.num,th.num{text-align:right;white-space:nowrap}
td.wide{min-width:280px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.state-met{color:#006b4f;font-weight:600}.state-missed{color:#a33c00;font-weight:600}
.map{overflow:auto;max-height:1400px;border:1px solid #e3e8ee}
.summary ol li,.summary ul li{margin-bottom:4px}
@media print{body{background:#fff}header,section{border:none;break-inside:avoid-page}
.map{max-height:none;overflow:visible}}
"""
