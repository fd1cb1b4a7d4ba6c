"""The pages sign in only with flows the deployed app client allows.

moto never enforces an app client's ExplicitAuthFlows, so a page using a flow the stack's client
refuses signed in locally and nowhere else (issue 16). Each flow name InitiateAuth takes
(https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html)
is allowed by one ExplicitAuthFlows value
(https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ops.cognito_local import client_parameters, deployed_properties
from ops.standin.strict_cognito import FLOW_PERMISSION

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
# A flow as a string literal (REFRESH_TOKEN is also an AuthParameters key, written bare).
FLOW_NAME = re.compile(r"[\"'`](" + "|".join(FLOW_PERMISSION) + r")[\"'`]")


def page_flows() -> dict[str, set[str]]:
    """Every auth flow a page's own script names, by file (the vendored library excluded)."""
    found: dict[str, set[str]] = {}
    for script in sorted(WEB.rglob("*.js")):
        relative = script.relative_to(WEB).as_posix()
        if relative.startswith(("vendor/", "node_modules/")):
            continue
        names = set(FLOW_NAME.findall(script.read_text(encoding="utf-8")))
        if names:
            found[relative] = names
    return found


def test_the_pages_sign_in_with_srp_and_renew_with_the_refresh_token() -> None:
    assert page_flows() == {"shared/cognito.js": {"USER_SRP_AUTH", "REFRESH_TOKEN_AUTH"}}


def test_every_flow_the_pages_use_is_allowed_by_the_deployed_client() -> None:
    allowed = set(deployed_properties("UserPoolClient")["ExplicitAuthFlows"])
    for script, flows in page_flows().items():
        for flow in flows:
            assert FLOW_PERMISSION[flow] in allowed, (script, flow, sorted(allowed))


def test_the_deployed_client_allows_no_more_than_the_pages_need() -> None:
    used = {FLOW_PERMISSION[f] for flows in page_flows().values() for f in flows}
    assert set(deployed_properties("UserPoolClient")["ExplicitAuthFlows"]) == used


def test_the_local_client_is_made_from_the_deployed_definition() -> None:
    template = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))
    deployed = template["Resources"]["UserPoolClient"]["Properties"]
    local = client_parameters()
    for key in ("ExplicitAuthFlows", "GenerateSecret", "IdTokenValidity", "TokenValidityUnits"):
        assert local[key] == deployed[key]
