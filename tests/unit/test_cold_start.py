"""`import app` stays light: a Lambda's cold start pays for the area its route uses, not for all.

Issue 15's figure (`python -m ops bench incoming-call`: `import app` at most 2x `import boto3`,
CPU time) is kept without timing anything here: declaring the routes must not import the heavy
libraries, which the views import on first use (see chalicelib/api/__init__.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each costs from ~10 ms (twilio's validator) to ~100 ms (boto3) in a fresh process.
HEAVY = (
    "boto3",
    "s3transfer",
    "urllib3",
    "pydantic",
    "pydantic_core",
    "twilio",
    "phonenumbers",
    "jwt",
    "cryptography",
    "requests",
)


@cache
def _modules_after(statement: str) -> frozenset[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return frozenset(json.loads(result.stdout))


def test_importing_the_app_loads_no_heavy_library() -> None:
    loaded = _modules_after("import app")
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []
    # Powertools' user agent imports the bare botocore package (well under 1 ms); botocore's
    # sessions, clients and endpoint data wait for the first route that talks to AWS.
    assert sorted(m for m in loaded if m.startswith("botocore.")) == []


def test_importing_the_app_reads_no_area_code_but_constants() -> None:
    loaded = _modules_after("import app")
    areas = ("routing", "presence", "escalation", "conversations", "recordings", "softphone")
    area_modules = {m for m in loaded for area in areas if m.startswith(f"chalicelib.{area}.")}
    # The recordings rule's job prefix, and the pure outcome counter EVENT_SUBSCRIBERS names.
    assert area_modules <= {
        "chalicelib.conversations.call_metrics",
        "chalicelib.recordings.job_names",
    }
