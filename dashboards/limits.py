"""How much the dashboard takes in: the largest upload, and so the largest request.

Dash sends an uploaded file inside a callback's JSON, as base64 (4 bytes for every
3), so the server refuses (413) any request larger than that plus the callback's
other inputs, before reading it; the upload page checks the decoded size again,
since a request can be made without the page.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_REQUEST", "MAX_UPLOAD"]

# The largest file the upload page accepts (the largest real log here, Road Traffic
# Fines, is 185 MB as plain XES and 3 MB gzipped); larger logs: `knelpunt ingest`.
MAX_UPLOAD: Final = 512 << 20
MAX_REQUEST: Final = -(-MAX_UPLOAD // 3) * 4 + (1 << 20)
