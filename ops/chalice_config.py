"""The committed `.chalice/config.json`: the environment variables each stage runs with.

Both the local stack (ops/stage.py) and a deployed stage (ops/deployed.py) start from these
values, so this module sits below both of them and imports neither.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"


def stage_environment(stage: str) -> dict[str, str]:
    """The stage's environment variables: the config's shared ones, then the stage's own."""
    config = json.loads(CHALICE_CONFIG.read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env
