"""How knelpunt drives a headless Chromium (the browser tests and the dashboard
benchmark): Debian's ``chromium`` package, which ``scripts/setup-system.sh``
installs, run as root in a container with no network beyond loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["CHROMIUM", "CHROMIUM_ARGS"]

CHROMIUM: Final = Path("/usr/bin/chromium")
# No sandbox (root), no GPU, none of the background connections this machine refuses.
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
