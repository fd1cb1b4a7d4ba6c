"""The committed `.chalice/config.json`: the environment variables each stage runs with.

Both the local stack (ops/stage.py) and a deployed stage (ops/deployed.py) start from these
values, so this module sits below both of them and imports neither. It also names what the
deployment commands write into the config for `chalice deploy` (ops/chalice_deploy.py), so the
package fingerprint (ops/deployment.py) can leave it out without importing those commands.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
RESOURCES = ROOT / "infra" / "resources.json"


def stage_environment(stage: str) -> dict[str, str]:
    """The stage's environment variables: the config's shared ones, then the stage's own."""
    config = json.loads(CHALICE_CONFIG.read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


GENERATED_KEYS = frozenset({"manage_iam_role", "iam_role_arn"})
API_HANDLER = ("APIHandler", "api_handler")
# Template property -> the Chalice config key that says the same per function.
CONFIG_OF = {
    "MemorySize": "lambda_memory_size",
    "Timeout": "lambda_timeout",
    "ReservedConcurrentExecutions": "reserved_concurrency",
}
# The variable each event-source function's source is read from when Chalice imports the app
# (chalicelib/api/agents.py, conversations.py, transcripts.py, recordings.py).
SOURCE_VARIABLES = {
    "PresenceStream": "PRESENCE_STREAM_ARN",
    "ConversationStream": "CONVERSATION_EVENTS_STREAM_ARN",
    "TranscriptStream": "LIVE_TRANSCRIPTS_STREAM_ARN",
    "CopyWorker": "RECORDING_COPY_QUEUE_ARN",
}


def chalice_name(logical_id: str) -> str:
    """Chalice's function name for the logical id `chalice package` gave it (the reverse of
    chalice.utils.to_cfn_resource_name): EscalationEnterStage -> escalation_enter_stage."""
    if logical_id == API_HANDLER[0]:
        return API_HANDLER[1]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).lower()


def function_overrides() -> dict[str, dict[str, Any]]:
    """chalice function name -> {config key: template value} for what infra/resources.json
    overrides in a function and Chalice's config can express (values may be a Ref)."""
    overrides: dict[str, dict[str, Any]] = {}
    for logical, resource in json.loads(RESOURCES.read_text())["Resources"].items():
        if "Type" in resource:
            continue  # a resource of its own, not an override of one of Chalice's
        properties = resource.get("Properties", {})
        found = {CONFIG_OF[k]: v for k, v in properties.items() if k in CONFIG_OF}
        if found:
            overrides[chalice_name(logical)] = found
    return overrides


def without_generated(value: Any) -> Any:
    """A config with the keys this module writes left out (for the package fingerprint)."""
    value = _without(value, GENERATED_KEYS | set(SOURCE_VARIABLES.values()))
    for stage in value.get("stages", {}).values() if isinstance(value, dict) else []:
        functions = stage.get("lambda_functions", {})
        for function, settings in function_overrides().items():
            for key in settings:
                functions.get(function, {}).pop(key, None)
        # An entry left empty was made by this module: as if it had never been written.
        for function in [name for name, entry in functions.items() if entry == {}]:
            functions.pop(function)
        if "lambda_functions" in stage and not functions:
            stage.pop("lambda_functions")
    return value


def _without(value: Any, keys: set[str] | frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


# --- what `chalice deploy` made (its own record, .chalice/deployed/<stage>.json) -------------


def deployed_file(config_file: Path, stage: str) -> Path:
    """Where Chalice records what it deployed: .chalice/deployed/<stage>.json."""
    return config_file.parent / "deployed" / f"{stage}.json"


def deployed_resources(config_file: Path, stage: str) -> list[dict[str, Any]]:
    path = deployed_file(config_file, stage)
    if not path.is_file():
        return []
    resources: list[dict[str, Any]] = json.loads(path.read_text()).get("resources", [])
    return resources


def deployed_api_id(config_file: Path, stage: str) -> str:
    for resource in deployed_resources(config_file, stage):
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_id"])
    return ""


def deployed_functions(config_file: Path, stage: str) -> dict[str, str]:
    """Chalice's function name (api_handler, presence_stream...) -> its ARN."""
    return {
        str(r["name"]): str(r["lambda_arn"])
        for r in deployed_resources(config_file, stage)
        if r.get("resource_type") == "lambda_function"
    }


def function_name(app_name: str, stage: str, name: str) -> str:
    """Chalice's deployed name (chalice/deploy/appgraph.py)."""
    return f"{app_name}-{stage}" if name == "api_handler" else f"{app_name}-{stage}-{name}"
