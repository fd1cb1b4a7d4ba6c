"""The stack of a chalice-owned stage: the packaged template minus what `chalice deploy` makes.

`chalice deploy` cannot update a function CloudFormation owns, it makes its own. So on a stage
whose code ships with `chalice deploy` (the default shape of `ops deploy`), the stack keeps
everything of infra/resources.json (tables, buckets, queues, KMS, roles and their policies, the
state machine, alarms, WAF, CloudFront, the secret) and leaves out what Chalice creates itself on
`chalice deploy` (chalice/deploy/planner.py, 1.34): the functions with their event sources (SAM
`Events`: stream and queue mappings, schedule rules), the REST API with its deployment and stage,
and the Lambda permission that lets API Gateway call the handler.

What stays may refer to what left. Chalice names its resources deterministically
(chalice/deploy/appgraph.py: `<app_name>-<stage>` for the API handler, `<app_name>-<stage>-<name>`
for every other function), so a reference to a function becomes that name, or its ARN (as an
Fn::Join). The REST API's id is not deterministic: Chalice makes it, and
`.chalice/deployed/<stage>.json` records it; the stack takes it back as the parameter
`ChaliceRestApiId`. What names the API (the WAF association, the public URL parameter, the
outputs) exists only once that parameter is set: `ops deploy` sets it right after its
`chalice deploy`. Any other reference to a removed resource is refused (`UnknownReference`):
a template change this transform does not understand must fail the deploy, not deploy a
dangling stack.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ops.chalice_config import chalice_name

SAM = "AWS::Serverless::"
API_ID_PARAMETER = "ChaliceRestApiId"
HAS_API = "HasChaliceRestApi"
REST_API = "RestAPI"
_SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")


class UnknownReference(ValueError):
    """A kept resource refers to a removed one in a way Chalice's names cannot replace."""


def function_name(app_name: str, logical_id: str) -> str:
    """Chalice's name of the function `chalice package` called `logical_id` (a Fn::Sub text)."""
    name = chalice_name(logical_id)
    if name == "api_handler":
        return f"{app_name}-${{Stage}}"
    return f"{app_name}-${{Stage}}-{name}"


def function_arn(app_name: str, logical_id: str) -> str:
    return (
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
        + function_name(app_name, logical_id)
    )


def removed_resources(template: dict[str, Any]) -> set[str]:
    """The logical ids `chalice deploy` makes itself: SAM functions and API, and the Lambda
    permissions for those functions."""
    resources = template["Resources"]
    removed = {k for k, r in resources.items() if r["Type"].startswith(SAM)}
    for logical, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Permission":
            target = resource.get("Properties", {}).get("FunctionName")
            if isinstance(target, dict) and target.get("Ref") in removed:
                removed.add(logical)
    return removed


class _Rewriter:
    def __init__(self, app_name: str, removed: dict[str, str]) -> None:
        self.app_name = app_name
        self.removed = removed  # logical id -> type
        self.names_api = False

    def _text(self, logical: str, attribute: str | None, where: str) -> str:
        """The Fn::Sub text that replaces `${logical[.attribute]}`."""
        kind = self.removed[logical]
        if kind == "AWS::Serverless::Function" and attribute is None:
            return function_name(self.app_name, logical)
        if kind == "AWS::Serverless::Function" and attribute == "Arn":
            return function_arn(self.app_name, logical)
        if logical == REST_API and attribute is None:
            self.names_api = True
            return "${" + API_ID_PARAMETER + "}"
        what = f"{logical}.{attribute}" if attribute else logical
        raise UnknownReference(f"{where}: no Chalice name for a reference to {what} ({kind})")

    def rewrite(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self.rewrite(v, f"{where}/{n}") for n, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"} and value["Ref"] in self.removed:
            return _join(self._text(value["Ref"], None, where))
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            logical, attribute = target if isinstance(target, list) else str(target).split(".", 1)
            if logical in self.removed:
                return _join(self._text(logical, attribute, where))
            return value
        if set(value) == {"Fn::Sub"}:
            body = value["Fn::Sub"]
            if isinstance(body, str):
                return {"Fn::Sub": self._sub(body, set(), where)}
            text, variables = body
            variables = self.rewrite(variables, f"{where}/Fn::Sub")
            return {"Fn::Sub": [self._sub(text, set(variables), where), variables]}
        return {k: self.rewrite(v, f"{where}/{k}") for k, v in value.items()}

    def _sub(self, text: str, local: set[str], where: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            logical, _, attribute = name.partition(".")
            if name in local or logical not in self.removed:
                return match.group(0)
            return self._text(logical, attribute or None, where)

        return _SUB_NAME.sub(replace, text)


def _join(text: str) -> Any:
    """A Sub text as Fn::Join of literals and Refs: valid wherever the Ref or GetAtt it replaces
    was, a Fn::Sub variable map included (whose values may be Ref, GetAtt, Join, If...:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html)."""
    parts: list[Any] = []
    for n, piece in enumerate(_SUB_NAME.split(text)):
        if n % 2:
            parts.append({"Ref": piece})
        elif piece:
            parts.append(piece)
    if len(parts) == 1 and isinstance(parts[0], dict):
        return parts[0]
    return {"Fn::Join": ["", parts]}


def chalice_owned(template: dict[str, Any], app_name: str = "contact-center") -> dict[str, Any]:
    """The packaged template for a stage whose functions and API `chalice deploy` owns."""
    resources = template["Resources"]
    removed = removed_resources(template)
    rewriter = _Rewriter(app_name, {k: resources[k]["Type"] for k in removed})
    kept: dict[str, Any] = {}
    for logical, resource in resources.items():
        if logical in removed:
            continue
        rewriter.names_api = False
        new = rewriter.rewrite(copy.deepcopy(resource), logical)
        _drop_dependencies_on(new, removed, logical)
        if rewriter.names_api:
            _only_with_the_api(new, logical)
        kept[logical] = new
    outputs: dict[str, Any] = {}
    for name, output in template.get("Outputs", {}).items():
        rewriter.names_api = False
        new = rewriter.rewrite(copy.deepcopy(output), f"Outputs/{name}")
        if rewriter.names_api:
            _only_with_the_api(new, f"Outputs/{name}")
        outputs[name] = new
    stage: dict[str, Any] = {
        k: copy.deepcopy(v)
        for k, v in template.items()
        # No SAM resource is left: no transform, and Globals is the transform's.
        if k not in ("Resources", "Outputs", "Transform", "Globals")
    }
    stage.setdefault("Parameters", {})[API_ID_PARAMETER] = {
        "Type": "String",
        "Default": "",
        "Description": "The id of the REST API `chalice deploy` made for this stage "
        "(.chalice/deployed/<stage>.json); empty until it has. Set by `ops deploy`.",
    }
    stage.setdefault("Conditions", {})[HAS_API] = {
        "Fn::Not": [{"Fn::Equals": [{"Ref": API_ID_PARAMETER}, ""]}]
    }
    stage["Resources"] = kept
    if outputs:
        stage["Outputs"] = outputs
    return stage


def _drop_dependencies_on(item: dict[str, Any], removed: set[str], where: str) -> None:
    """A DependsOn on what Chalice now makes (or on what SAM would have generated from it, like
    `RestAPIapiStage`) is dropped: `ops deploy` runs `chalice deploy` before the stack update that
    creates what names the API. Any other unknown name is left for CloudFormation to refuse."""
    depends = item.get("DependsOn")
    if depends is None:
        return
    names = [depends] if isinstance(depends, str) else list(depends)
    kept = [n for n in names if not any(n.startswith(r) for r in removed)]
    if len(kept) != len(names) and item.get("Condition") != HAS_API and not _names_api(item):
        raise UnknownReference(f"{where} depends on {sorted(set(names) - set(kept))}")
    if kept:
        item["DependsOn"] = kept
    else:
        item.pop("DependsOn")


def _names_api(item: dict[str, Any]) -> bool:
    return API_ID_PARAMETER in str(item)


def _only_with_the_api(item: dict[str, Any], where: str) -> None:
    if "Condition" in item and item["Condition"] != HAS_API:
        raise UnknownReference(
            f"{where} names the REST API and already has condition {item['Condition']}"
        )
    item["Condition"] = HAS_API
