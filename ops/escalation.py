"""The escalation state machine from infra/escalation.asl.json, for moto (tests, local runs).

CloudFormation fills the Lambda ARNs in with DefinitionSubstitutions (infra/resources.json);
here the same `${...}` placeholders are filled with the ARNs of the local stage's functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.platform.settings import Settings

ASL = Path(__file__).resolve().parent.parent / "infra" / "escalation.asl.json"
STATE_MACHINE_NAME = "contact-center-escalation"
FUNCTIONS = {
    "EscalationEnterStageArn": "escalation_enter_stage",
    "EscalationFallbackArn": "escalation_fallback",
}


def definition(function_arn_prefix: str) -> str:
    """The ASL with every Lambda placeholder replaced by `<prefix><function name>`."""
    # Only `${Name}` placeholders are ours (JSONPath uses `$.`), as in CloudFormation's
    # DefinitionSubstitutions.
    filled = ASL.read_text(encoding="utf-8")
    for key, name in FUNCTIONS.items():
        filled = filled.replace("${" + key + "}", function_arn_prefix + name)
    json.loads(filled)  # fail here, not in Step Functions, if the file is broken
    return filled


def create_local_state_machine(
    session: Any, settings: Settings, account: str = "123456789012"
) -> str:
    """Create (or find) the state machine on moto; return its ARN."""
    client = session.client("stepfunctions", region_name=settings.aws_region)
    for machine in client.list_state_machines()["stateMachines"]:
        if machine["name"] == STATE_MACHINE_NAME:
            return str(machine["stateMachineArn"])
    prefix = (
        f"arn:aws:lambda:{settings.aws_region}:{account}:function:contact-center-{settings.stage}-"
    )
    created = client.create_state_machine(
        name=STATE_MACHINE_NAME,
        definition=definition(prefix),
        roleArn=f"arn:aws:iam::{account}:role/contact-center-escalation",
        type="STANDARD",
    )
    return str(created["stateMachineArn"])
