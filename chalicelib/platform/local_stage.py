"""Documented defaults of the local stack that are read when the app is imported.

Kept apart from settings.py (which builds pydantic models) so that declaring the routes does
not pay for pydantic: CORS is fixed at import time (chalicelib/api/web.py).
"""

from __future__ import annotations

# Where `make run` serves the softphone pages when WEB_ORIGIN is unset.
LOCAL_WEB_ORIGIN = "http://127.0.0.1:8080"
