"""The report's words in Dutch and English, and numbers as each language writes them."""

from __future__ import annotations

from typing import Final, Literal

from babel.numbers import format_decimal, format_percent

__all__ = ["TEXTS", "Lang", "language", "number", "percent", "t"]

Lang = Literal["nl", "en"]
_LOCALES: Final = {"nl": "nl_NL", "en": "en_GB"}


def language(value: object) -> Lang:
    """``"en"`` when asked for English, else Dutch (the default)."""
    return "en" if value == "en" else "nl"


def number(value: float, lang: str, digits: int = 1) -> str:
    """A number as the language writes it (1.234,5 in Dutch, 1,234.5 in English)."""
    if value != value:
        return "-"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_LOCALES[language(lang)])


def percent(value: float, lang: str) -> str:
    """A share as a whole percentage ("-" when not known)."""
    if value != value:
        return "-"
    return format_percent(value, format="#,##0%", locale=_LOCALES[language(lang)])


def t(lang: str, key: str, **values: object) -> str:
    """The report's text ``key`` in ``lang``, with ``values`` filled in."""
    text = TEXTS[language(lang)][key]
    return text.format(**values) if values else text


TEXTS: Final[dict[Lang, dict[str, str]]] = {
    "nl": {
        "title": "Knelpunten in de uitvoering",
        "generated": "Gemaakt op {when} met knelpunt {version}, profiel {profile}.",
        "sources": "Bronnen",
        "contents": "Inhoud",
        "summary": "Samenvatting",
        "summary.size": (
            "{cases} zaken met {events} gebeurtenissen, van {start} tot en met {end}. "
            "De helft van de zaken is binnen {median} dagen klaar, 90% binnen {p90} dagen."
        ),
        "summary.categories": "Van alle wachttijd in de knelpunten komt {parts}.",
        "summary.unclassified": (
            "{share} is nog aan niemand toegewezen: deel de stappen ervan in het profiel in "
            "(knelpunt profile draft)."
        ),
        "summary.category": "{share} door {category}",
        "summary.none": "In deze zaken is geen wachttijd gevonden.",
        "summary.top": "De drie duurste knelpunten:",
        "summary.blocker": (
            "{activity} ({category}): {hours} werkuren wachten in {cases} zaken; zonder "
            "dit wachten daalt de gemiddelde doorlooptijd van {before} naar {after} dagen."
        ),
        "summary.goals": "Beleidsdoelen:",
        "summary.compare": "Vergelijking:",
        "blockers": "Knelpunten",
        "blockers.intro": (
            "Elk knelpunt is een plek waar zaken wachten, met de oorzaak van dat wachten "
            "en wiens beslissing het is: protocol, systeem, sturing, of de cliënt en "
            "zijn netwerk. Gerangschikt naar wachttijd (kalendertijd), met de werkuren erbij."
        ),
        "blockers.shown": "De {shown} duurste van {count} knelpunten.",
        "blockers.causes": "Waardoor zaken wachten",
        "blockers.trend": "Wachttijd per maand van de duurste knelpunten",
        "column.rank": "#",
        "column.category": "Soort",
        "column.activity": "Stap",
        "column.reason": "Reden",
        "column.hours": "Uren wachten",
        "column.work_hours": "waarvan werkuren",
        "column.cases": "Zaken",
        "column.gain": "Doorlooptijd zonder (dagen)",
        "column.evidence": "Bewijs",
        "goals": "Beleidsdoelen",
        "goals.intro": (
            "Per beleidsdoel: hoeveel zaken gemeten konden worden, hoeveel daarvan het "
            "doel halen, en de norm."
        ),
        "goals.none": "Het profiel heeft geen beleidsdoelen.",
        "goals.trend": "Naleving per maand",
        "column.criterion": "Beleidsdoel",
        "column.measured": "Gemeten",
        "column.compliance": "Naleving",
        "column.target": "Norm",
        "column.met": "Gehaald",
        "column.unmeasurable": "Niet meetbaar",
        "column.reference": "Grondslag",
        "yes": "ja",
        "no": "nee",
        "map": "Proceskaart",
        "map.intro": (
            "De werkelijke volgorde van de stappen: elke pijl telt hoe vaak de ene stap "
            "op de andere volgde ({paths} van de paden, de meest voorkomende). Een stap "
            "met een gekleurde rand is de duurste plek van een knelpunt in die kleur."
        ),
        "throughput": "Doorlooptijd",
        "throughput.x": "Doorlooptijd (dagen)",
        "throughput.y": "Zaken",
        "months.started": "Gestart",
        "months.ended": "Afgerond",
        "months.median": "Mediane doorlooptijd (dagen)",
        "compare": "Vergelijking",
        "compare.intro": (
            "{a} tegenover {b}: het verschil (B - A) met het {confidence}-"
            "betrouwbaarheidsinterval uit {resamples} trekkingen. Significant na "
            "correctie voor het aantal vergelijkingen (Benjamini-Hochberg)."
        ),
        "compare.blockers": "Knelpunten die veranderden",
        "column.measure": "Maat",
        "column.delta": "Verschil",
        "column.interval": "Interval",
        "column.significant": "Significant",
        "column.status": "Verandering",
        "notes": "Wat u moet weten over de gegevens",
        "category.protocol": "protocol",
        "category.system": "systeem",
        "category.steering": "sturing",
        "category.client": "cliënt en netwerk",
        "category.unclassified": "niet toegewezen",
        "cause.batching": "Bundeling",
        "cause.contention": "Bezetting",
        "cause.prioritisation": "Voorrang",
        "cause.unavailability": "Afwezigheid",
        "cause.extraneous": "Extern",
        "cause.undetermined": "Onbepaald",
        "reason.step": "de stap zelf",
        "reason.rework": "herhaling",
        "reason.handover": "overdracht",
        "reason.meeting": "overleg",
        "reason.system run": "systeemrun",
        "reason.capacity": "capaciteit",
        "reason.priorities": "voorrang",
        "reason.working hours": "werktijden",
        "reason.caseload": "caseload",
        "reason.after client": "na de cliënt",
        "reason.after steering": "na sturing",
        "reason.batching": "bundeling",
        "reason.unknown": "onbekend",
        "hours": "Uren",
        "empty": "Deze selectie bevat geen zaken.",
    },
    "en": {
        "title": "Blockers in case handling",
        "generated": "Made on {when} with knelpunt {version}, profile {profile}.",
        "sources": "Sources",
        "contents": "Contents",
        "summary": "Summary",
        "summary.size": (
            "{cases} cases with {events} events, from {start} to {end}. Half of the "
            "cases are done within {median} days, 90% within {p90} days."
        ),
        "summary.categories": "Of all waiting in the blockers, {parts}.",
        "summary.unclassified": (
            "{share} is not yet attributed to anyone: classify its steps in the profile "
            "(knelpunt profile draft)."
        ),
        "summary.category": "{share} is due to {category}",
        "summary.none": "No waiting was found in these cases.",
        "summary.top": "The three costliest blockers:",
        "summary.blocker": (
            "{activity} ({category}): {hours} working hours of waiting in {cases} cases; "
            "without it the mean throughput time falls from {before} to {after} days."
        ),
        "summary.goals": "Policy goals:",
        "summary.compare": "Comparison:",
        "blockers": "Blockers",
        "blockers.intro": (
            "Each blocker is a place where cases wait, with the cause of that waiting and "
            "whose decision it is: protocol, system, steering, or the client and their "
            "network. Ranked by waiting (calendar time), with its working hours."
        ),
        "blockers.shown": "The {shown} costliest of {count} blockers.",
        "blockers.causes": "Why cases wait",
        "blockers.trend": "Waiting per month of the costliest blockers",
        "column.rank": "#",
        "column.category": "Kind",
        "column.activity": "Step",
        "column.reason": "Reason",
        "column.hours": "Hours waiting",
        "column.work_hours": "of which working hours",
        "column.cases": "Cases",
        "column.gain": "Throughput without (days)",
        "column.evidence": "Evidence",
        "goals": "Policy goals",
        "goals.intro": (
            "Per policy goal: how many cases could be measured, how many of them meet "
            "the goal, and the target."
        ),
        "goals.none": "The profile has no policy goals.",
        "goals.trend": "Compliance per month",
        "column.criterion": "Policy goal",
        "column.measured": "Measured",
        "column.compliance": "Compliance",
        "column.target": "Target",
        "column.met": "Met",
        "column.unmeasurable": "Not measurable",
        "column.reference": "Basis",
        "yes": "yes",
        "no": "no",
        "map": "Process map",
        "map.intro": (
            "The actual order of the steps: each arrow counts how often one step followed "
            "the other ({paths} of the paths, the most frequent). A step with a coloured "
            "border is the costliest place of a blocker of that colour."
        ),
        "throughput": "Throughput time",
        "throughput.x": "Throughput time (days)",
        "throughput.y": "Cases",
        "months.started": "Started",
        "months.ended": "Ended",
        "months.median": "Median throughput time (days)",
        "compare": "Comparison",
        "compare.intro": (
            "{a} against {b}: the difference (B - A) with its {confidence} confidence "
            "interval from {resamples} resamples. Significant after correction for the "
            "number of comparisons (Benjamini-Hochberg)."
        ),
        "compare.blockers": "Blockers that changed",
        "column.measure": "Measure",
        "column.delta": "Difference",
        "column.interval": "Interval",
        "column.significant": "Significant",
        "column.status": "Change",
        "notes": "What to know about the data",
        "category.protocol": "protocol",
        "category.system": "system",
        "category.steering": "steering",
        "category.client": "client and network",
        "category.unclassified": "unclassified",
        "cause.batching": "Batching",
        "cause.contention": "Contention",
        "cause.prioritisation": "Prioritisation",
        "cause.unavailability": "Unavailability",
        "cause.extraneous": "Extraneous",
        "cause.undetermined": "Undetermined",
        "reason.step": "the step itself",
        "reason.rework": "rework",
        "reason.handover": "handover",
        "reason.meeting": "meeting",
        "reason.system run": "system run",
        "reason.capacity": "capacity",
        "reason.priorities": "priorities",
        "reason.working hours": "working hours",
        "reason.caseload": "caseload",
        "reason.after client": "after the client",
        "reason.after steering": "after steering",
        "reason.batching": "batching",
        "reason.unknown": "unknown",
        "hours": "Hours",
        "empty": "This selection holds no cases.",
    },
}
