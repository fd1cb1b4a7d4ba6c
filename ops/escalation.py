"""The escalation state machine from infra/escalation.asl.json, for moto (tests, local runs).

CloudFormation fills the Lambda ARNs in with DefinitionSubstitutions (infra/resources.json);
here the same `${...}` placeholders are filled with the ARNs of the local stage's functions, and
the machine gets the name and type the template gives it.

moto runs a state machine's Lambda tasks through its own Lambda `Invoke`, which without Docker
answers with a canned reply instead of running the function. `LocalSteps` is what `make run`'s
moto server (ops/moto_server.py) answers instead for the steps' functions: our own handlers, the
ones Chalice deploys under those names, in the server's process.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.platform.settings import Settings

ASL = Path(__file__).resolve().parent.parent / "infra" / "escalation.asl.json"
APP_NAME = "contact-center"  # .chalice/config.json app_name
MOTO_ACCOUNT = "123456789012"  # moto's default account
FUNCTIONS = {
    "EscalationEnterStageArn": "escalation_enter_stage",
    "EscalationFallbackArn": "escalation_fallback",
}

Handler = Callable[[Any, Any], Any]
log = logging.getLogger(__name__)


def deployed_name(stage: str, function: str) -> str:
    """The name Chalice deploys `@app.lambda_function(name=function)` under: app-stage-name."""
    return f"{APP_NAME}-{stage}-{function}"


def function_arn_prefix(region: str, stage: str, account: str = MOTO_ACCOUNT) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{deployed_name(stage, '')}"


def _template_machine() -> dict[str, Any]:
    from ops.infra import template_resources

    machine: dict[str, Any] = template_resources()["EscalationStateMachine"]["Properties"]
    return machine


def state_machine_name(stage: str) -> str:
    """The stage's state machine name, as the template names it (its IAM grants name it too)."""
    return str(_template_machine()["StateMachineName"]["Fn::Sub"]).replace("${Stage}", stage)


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
    session: Any, settings: Settings, account: str = MOTO_ACCOUNT
) -> str:
    """Create (or find) the state machine on moto; return its ARN."""
    client = session.client("stepfunctions", region_name=settings.aws_region)
    name = state_machine_name(settings.stage)
    for machine in client.list_state_machines()["stateMachines"]:
        if machine["name"] == name:
            return str(machine["stateMachineArn"])
    created = client.create_state_machine(
        name=name,
        definition=definition(function_arn_prefix(settings.aws_region, settings.stage, account)),
        roleArn=f"arn:aws:iam::{account}:role/{name}",
        type=_template_machine()["StateMachineType"],
    )
    return str(created["stateMachineArn"])


@dataclass
class LambdaContext:
    """The parts of Lambda's context object a Python handler may read.
    https://docs.aws.amazon.com/lambda/latest/dg/python-context.html"""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class LocalSteps:
    """Lambda's synchronous `Invoke` of the escalation steps' functions, run by our handlers.

    `handlers` are keyed by deployed function name. A function name that is not one of them is
    left to moto (None). Invocations run one at a time: in Lambda each execution environment
    serves one invocation at a time, and here they share one process and one Container.
    """

    def __init__(self, handlers: Mapping[str, Handler], region: str) -> None:
        self._handlers = dict(handlers)
        self._region = region
        self._lock = threading.Lock()
        self.invocations: Counter[str] = Counter()

    @classmethod
    def for_app(cls, app: Any, stage: str, region: str) -> LocalSteps:
        """The steps the state machine invokes, as `app` declares them (app.handler_map)."""
        return cls(
            {deployed_name(stage, name): app.handler_map[name] for name in FUNCTIONS.values()},
            region,
        )

    def function(self, function_name: str) -> str | None:
        """The deployed function `function_name` names, if it is one of ours.

        Invoke accepts a name, a full or partial ARN, each with an optional `:qualifier`.
        https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
        """
        name = function_name.rsplit(":function:", 1)[-1].split(":", 1)[0]
        return name if name in self._handlers else None

    def invoke(
        self,
        function_name: str,
        body: str | bytes | None,
        headers: MutableMapping[str, str],
    ) -> bytes | None:
        """The response payload (and its `headers`), or None when the function is not ours.

        A handler that raises is reported the way Lambda reports a Python function's error:
        header `X-Amz-Function-Error: Unhandled` and a payload with `errorType` (the exception's
        class name), `errorMessage` and `stackTrace`
        (https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html); Step Functions
        names the error after `errorType`, which is what the state machine's `Retry` matches
        (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
        """
        name = self.function(function_name)
        if name is None:
            return None
        event = json.loads(body) if body else {}
        context = LambdaContext(
            name, f"arn:aws:lambda:{self._region}:{MOTO_ACCOUNT}:function:{name}"
        )
        with self._lock:
            self.invocations[name] += 1
            try:
                # A round trip through JSON, as the result crosses the Lambda API.
                payload = json.dumps(self._handlers[name](event, context)).encode()
            except Exception as exc:  # reported to the caller, as Lambda does
                log.exception("%s failed", name)
                headers["x-amz-function-error"] = "Unhandled"
                payload = json.dumps(
                    {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "stackTrace": traceback.format_tb(exc.__traceback__),
                    }
                ).encode()
        headers["Content-Length"] = str(len(payload))
        return payload
