"""knelpunt: an event-sourced process-bottleneck analyser for the Dutch social domain.

The notebook façade::

    import knelpunt as kp
    store = kp.open_store("knelpunt.db")
    result = kp.ingest_log(store, "export.csv")   # ids pseudonymised, personal data dropped
    kp.detect_personal_data("export.csv")          # what is found, what recording does
    log = kp.read_events(store, sources=[result.source.source_id])
    events = kp.load_events(store)              # the sorted, coded projection
    process = kp.discover_map(events)           # directly-follows graph + performance
    kp.compute_relational("events/", engine="spark")  # map, variants, cases on Spark (Parquet)
    kp.compute_instances("events/", engine="spark")   # waiting and processing per activity
    kp.compute_waiting("events/", engine="spark")     # its causes, split per source
    kp.compute_criteria("events/", engine="spark")    # policy criteria per source
    variants = kp.list_variants(events)
    steps = kp.pair_instances(events, calendar=kp.WorkCalendar.office_hours())
    steps.instances                             # enabled, start, complete, waiting, processing
    main = kp.filter_events(events, variant_coverage=0.8, activity_share=0.5)
    model = kp.discover_model(events)           # inductive miner → kp.export_model(model, "m.bpmn")
    check = kp.check_conformance(events, kp.read_model("protocol.bpmn"))
    profile = kp.read_profile("sociaal-domein")  # calendar, teams, roles, activity classes
    own = profile.resource_calendars(events.resources)  # team and personal hours
    steps = kp.pair_instances(events, calendar=profile.calendar, resource_calendars=own)
    run = kp.simulate_scenario(store, "team-meeting", seed=7)  # events into the store
    run.truth_by_blocker()                      # the true causes of waiting (kept apart)
    split = kp.split_waiting(events, profile=profile)  # batching, contention, ... per wait
    found = kp.find_blockers(split, profile=profile)   # ranked, attributed, with evidence
    goals = kp.evaluate_criteria(events, profile=profile, store=store)  # per case, + blockers
    goals.summary("nl")                         # "76% van 669 zaken ...; zonder dit wachten ..."
    kp.compare(kp.select_cases(events, until=cut), kp.select_cases(events, since=cut))
    kp.compare_scenarios("baseline", ["steering.caseload_cap=40"], seeds=range(5)).to_frame()
    kp.report(events, profile=profile, store=store, lang="nl", out="rapport.html")  # one file
    kp.read_audit(store, actions=["login_failed", "purge"])  # who did what, when, from where

Importing knelpunt does not import pm4py or Dash.
"""

from __future__ import annotations

from knelpunt.access import read_audit
from knelpunt.analysis.blockers import Blocker, Blockers, find_blockers
from knelpunt.analysis.calendars import discover_calendars
from knelpunt.analysis.compare import Comparison, compare, select_cases
from knelpunt.analysis.criteria import CriteriaResult, evaluate_criteria
from knelpunt.analysis.drafting import ProfileDraft, draft_profile
from knelpunt.analysis.overview import LogSummary, summarise_log
from knelpunt.analysis.teams import TeamWork, summarise_teamwork
from knelpunt.analysis.waiting import WaitingSplit, split_waiting
from knelpunt.api import (
    StoreFacts,
    append_events,
    find_cases,
    list_sources,
    load_store_facts,
    purge_source,
    read_case_attributes,
    read_events,
    read_rejects,
    read_resource_groups,
    suggest_mapping,
)
from knelpunt.engine import (
    CriteriaScores,
    EventFilter,
    InstanceResult,
    RelationalResult,
    WaitingResult,
    compute_criteria,
    compute_instances,
    compute_relational,
    compute_waiting,
    export_relational,
    find_results,
    read_relational,
)
from knelpunt.errors import KnelpuntError
from knelpunt.events.model import Event, NewSource, RecordResult, Source
from knelpunt.events.store import EventStore, open_store
from knelpunt.ingest.check import LogCheck, check_log, detect_personal_data
from knelpunt.ingest.export import export_log
from knelpunt.ingest.limits import InputLimits
from knelpunt.ingest.mapping import ColumnMapping
from knelpunt.ingest.minimise import PersonalData
from knelpunt.ingest.pipeline import ingest_log
from knelpunt.mining.conformance import Conformance, check_conformance
from knelpunt.mining.filters import filter_events, simplify_map
from knelpunt.mining.instances import ActivityInstances, pair_instances, summarise_activities
from knelpunt.mining.maps import (
    ProcessMap,
    discover_map,
    list_edge_cases,
    list_variants,
    summarise_cases,
)
from knelpunt.mining.models import ProcessModel, discover_model, export_model, read_model
from knelpunt.mining.organisation import (
    discover_collaboration,
    discover_handovers,
    resource_workload,
)
from knelpunt.mining.projection import EventTable, load_events
from knelpunt.policy import Criterion
from knelpunt.privacy import PrivacyChoices
from knelpunt.profile import Profile, ProfileCheck, check_profile, read_profile
from knelpunt.reports.html import Report, report
from knelpunt.simulate.runs import (
    SimulationRun,
    WhatIf,
    compare_scenarios,
    read_truth,
    simulate_scenario,
)
from knelpunt.simulate.scenario import Scenario, read_scenario
from knelpunt.worktime import WorkCalendar, working_seconds

__version__ = "0.1.0"

__all__ = [
    "ActivityInstances",
    "Blocker",
    "Blockers",
    "ColumnMapping",
    "Comparison",
    "Conformance",
    "CriteriaResult",
    "CriteriaScores",
    "Criterion",
    "Event",
    "EventFilter",
    "EventStore",
    "EventTable",
    "InputLimits",
    "InstanceResult",
    "KnelpuntError",
    "LogCheck",
    "LogSummary",
    "NewSource",
    "PersonalData",
    "PrivacyChoices",
    "ProcessMap",
    "ProcessModel",
    "Profile",
    "ProfileCheck",
    "ProfileDraft",
    "RecordResult",
    "RelationalResult",
    "Report",
    "Scenario",
    "SimulationRun",
    "Source",
    "StoreFacts",
    "TeamWork",
    "WaitingResult",
    "WaitingSplit",
    "WhatIf",
    "WorkCalendar",
    "append_events",
    "check_conformance",
    "check_log",
    "check_profile",
    "compare",
    "compare_scenarios",
    "compute_criteria",
    "compute_instances",
    "compute_relational",
    "compute_waiting",
    "detect_personal_data",
    "discover_calendars",
    "discover_collaboration",
    "discover_handovers",
    "discover_map",
    "discover_model",
    "draft_profile",
    "evaluate_criteria",
    "export_log",
    "export_model",
    "export_relational",
    "filter_events",
    "find_blockers",
    "find_cases",
    "find_results",
    "ingest_log",
    "list_edge_cases",
    "list_sources",
    "list_variants",
    "load_events",
    "load_store_facts",
    "open_store",
    "pair_instances",
    "purge_source",
    "read_audit",
    "read_case_attributes",
    "read_events",
    "read_model",
    "read_profile",
    "read_rejects",
    "read_relational",
    "read_resource_groups",
    "read_scenario",
    "read_truth",
    "report",
    "resource_workload",
    "select_cases",
    "simplify_map",
    "simulate_scenario",
    "split_waiting",
    "suggest_mapping",
    "summarise_activities",
    "summarise_cases",
    "summarise_log",
    "summarise_teamwork",
    "working_seconds",
]
