"""One local Spark session for the whole test run, and the logs both engines are held to."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local Spark session on one core: small shuffles, no web UI, UTC; stopped at the end.

    Skipped, with the reason, where pyspark or Java is missing (``make test`` installs
    both: the spark extra and scripts/setup-system.sh).
    """
    sql = pytest.importorskip(
        "pyspark.sql", reason="pyspark is not installed: pip install 'knelpunt[spark]'"
    )
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: Spark needs Java 17+ (scripts/setup-system.sh)")
    # Python tasks run in this interpreter (the venv with knelpunt), not the PATH's python3.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        sql.SparkSession.builder.master("local[1]")
        .appName("knelpunt-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
