"""The notebooks in notebooks/ run top to bottom; their own assertions check the results.

Each notebook runs in a fresh ``python3`` kernel (ipykernel, installed with the dev
extra, brings that kernel spec into the virtualenv) with its folder as the working
directory, as Jupyter runs it. The two notebooks on real logs run twice: on
../shared/event_logs (skipped, and saying so, where that folder is absent) and on the
generated stand-in they make when it is absent, which is what a fresh clone runs (no
real log is shipped in the repository).
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO, SHARED_LOGS

NOTEBOOKS = REPO / "notebooks"
KRONOS = SHARED_LOGS.parent / "reference" / "kronos"
TIMEOUT_S = 600  # per cell; the slowest cell takes about 10 s on 2 cores
SCALE_EVENTS = 200_000  # 05_schaal in CI; benchmarks/RESULTS.md reports 5,000,000

_needs_real_logs = pytest.mark.skipif(
    not SHARED_LOGS.is_dir(), reason=f"real logs not found at {SHARED_LOGS}"
)

CASES = [
    pytest.param(
        "01_gemeente_bpic2015",
        {"KNELPUNT_NOTEBOOK_SAMPLE": "0"},
        "Running on the full log",
        marks=[pytest.mark.real_logs, _needs_real_logs],
        id="01-real",
    ),
    pytest.param(
        "01_gemeente_bpic2015",
        {"KNELPUNT_NOTEBOOK_SAMPLE": "1"},
        "GENERATED STAND-IN",
        id="01-generated",
    ),
    pytest.param(
        "02_wachttijd_bpic2012",
        {"KNELPUNT_NOTEBOOK_SAMPLE": "0"},
        "full BPIC 2012 log",
        marks=[
            pytest.mark.real_logs,
            _needs_real_logs,
            pytest.mark.skipif(not KRONOS.is_dir(), reason=f"Kronos results not at {KRONOS}"),
        ],
        id="02-real",
    ),
    pytest.param(
        "02_wachttijd_bpic2012",
        {"KNELPUNT_NOTEBOOK_SAMPLE": "1"},
        "GENERATED STAND-IN",
        id="02-generated",
    ),
    pytest.param("03_beleidsdoelen_simulatie", {}, "Simulated", id="03"),
    pytest.param("04_wat_als", {}, "median days to decision", id="04"),
    pytest.param(
        "05_schaal",
        {"KNELPUNT_NOTEBOOK_EVENTS": str(SCALE_EVENTS)},
        f"{SCALE_EVENTS:,} events",
        id="05",
    ),
]


def _printed(book: object) -> str:
    """Everything the notebook's cells printed to stdout."""
    return "".join(
        output.get("text", "")
        for cell in book.cells  # type: ignore[attr-defined]
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("name") == "stdout"
    )


@pytest.mark.slow
@pytest.mark.parametrize(("name", "env", "says"), CASES)
def test_notebook_runs_and_its_assertions_hold(
    name: str, env: dict[str, str], says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook runs without an error in any cell and prints which data it ran on."""
    # jupyter_core before 5.9 warns (DeprecationWarning, an error under -W error) that
    # Jupyter is migrating its paths to platformdirs unless this opts in to them.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the kernel inherits the environment
    import nbformat
    from nbclient import NotebookClient

    path = NOTEBOOKS / f"{name}.ipynb"
    book = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code"), (
        f"{path.name} is committed with outputs; clear them"
    )
    client = NotebookClient(
        book,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback
    assert says in _printed(book)
