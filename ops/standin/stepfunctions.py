"""AWS Step Functions' side for in-process runs: the app's state machines on the virtual clock.

The escalation timeline (infra/escalation.asl.json) waits tens of seconds between stages; in
AWS it runs in Step Functions. In-process runs have no Step Functions, so this interprets the
definition on the stand-in's virtual clock: the app starts and stops executions with the same
`StartExecution` / `DescribeExecution` / `StopExecution` calls it makes in AWS, answered here at
the botocore boundary (`before-call.sfn.*`), and Task states invoke the app's Lambda functions
in-process (`app.handler_map`).

Only the Amazon States Language the app's definitions use is implemented, and anything else is
refused when the definition is loaded (not silently skipped): Choice (StringEquals,
BooleanEquals, NumericEquals, IsPresent; And/Or/Not), Task (Parameters with `.$` paths,
ResultPath, Retry, Catch), Wait (Seconds, SecondsPath), Pass, Succeed, Fail. Paths are plain
`$.a.b` references. https://states-language.net/spec.html
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ops.standin.clock import Scheduler

SUPPORTED_STATES = frozenset({"Choice", "Task", "Wait", "Pass", "Succeed", "Fail"})
CHOICE_OPERATORS = frozenset(
    {"StringEquals", "BooleanEquals", "NumericEquals", "IsPresent", "And", "Or", "Not"}
)
# What a Task state may name in Retry/Catch besides our own error types.
TASK_FAILED = "States.TaskFailed"
ALL = "States.ALL"


class DefinitionNotSupported(ValueError):
    """The definition uses a feature this interpreter does not implement."""


class TaskError(Exception):
    """A Task state's failure, named as Step Functions names it (the Lambda's errorType)."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass
class Execution:
    arn: str
    name: str
    input: dict[str, Any]
    started: float
    status: str = "RUNNING"  # RUNNING, SUCCEEDED, FAILED, ABORTED
    stopped: float | None = None
    state: str = ""
    output: Any = None
    error: str = ""
    cause: str = ""
    history: list[tuple[float, str, str]] = field(default_factory=list)  # (time, state, what)
    transitions: int = 0


def _path_get(document: Any, path: str) -> Any:
    """`$`, `$.a.b`: the only paths the app's definitions use. KeyError when absent."""
    if path == "$":
        return document
    if not path.startswith("$."):
        raise DefinitionNotSupported(f"path {path!r}: only $.a.b paths are supported")
    value = document
    for part in path[2:].split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def _path_set(document: Any, path: str | None, result: Any) -> Any:
    """ResultPath: `$` replaces the input, `$.a.b` sets inside a copy, null discards."""
    if path is None:
        return document
    if path == "$":
        return result
    if not path.startswith("$."):
        raise DefinitionNotSupported(f"ResultPath {path!r}")
    out = copy.deepcopy(document) if isinstance(document, dict) else {}
    node = out
    parts = path[2:].split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = result
    return out


def _parameters(template: Any, document: Any) -> Any:
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _path_get(document, value)
            else:
                out[key] = _parameters(value, document)
        return out
    if isinstance(template, list):
        return [_parameters(v, document) for v in template]
    return template


def _choice_matches(rule: dict[str, Any], document: Any) -> bool:
    if "And" in rule:
        return all(_choice_matches(r, document) for r in rule["And"])
    if "Or" in rule:
        return any(_choice_matches(r, document) for r in rule["Or"])
    if "Not" in rule:
        return not _choice_matches(rule["Not"], document)
    try:
        value = _path_get(document, rule["Variable"])
        present = True
    except KeyError:
        value, present = None, False
    if "IsPresent" in rule:
        return present == bool(rule["IsPresent"])
    if not present:
        # A missing variable in a comparison is a runtime error in Step Functions.
        raise TaskError("States.Runtime", f"Invalid path '{rule['Variable']}'")
    if "StringEquals" in rule:
        return isinstance(value, str) and value == rule["StringEquals"]
    if "BooleanEquals" in rule:
        return isinstance(value, bool) and value is rule["BooleanEquals"]
    if "NumericEquals" in rule:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value == rule["NumericEquals"]
        )
    raise DefinitionNotSupported(f"choice rule {sorted(rule)}")


def _error_matches(names: list[str], error: str) -> bool:
    if ALL in names:
        return True
    if TASK_FAILED in names and error != "States.Timeout":
        return True
    return error in names


def validate(definition: dict[str, Any]) -> None:
    """Refuse a definition that uses what this interpreter does not implement."""
    states = definition.get("States") or {}
    if definition.get("StartAt") not in states:
        raise DefinitionNotSupported("StartAt names no state")
    for name, state in states.items():
        kind = state.get("Type")
        if kind not in SUPPORTED_STATES:
            raise DefinitionNotSupported(f"state {name}: type {kind}")
        for key in ("InputPath", "OutputPath", "ResultSelector", "TimeoutSeconds", "Timestamp"):
            if key in state:
                raise DefinitionNotSupported(f"state {name}: {key}")
        if kind == "Wait" and not ({"Seconds", "SecondsPath"} & state.keys()):
            raise DefinitionNotSupported(f"state {name}: Wait needs Seconds or SecondsPath")
        if kind == "Choice":
            for rule in state.get("Choices", []):
                _check_rule(name, rule)
        for target in _next_states(state):
            if target not in states:
                raise DefinitionNotSupported(f"state {name}: Next {target} does not exist")


def _check_rule(name: str, rule: dict[str, Any]) -> None:
    operators = set(rule) - {"Variable", "Next"}
    if not operators or not operators <= CHOICE_OPERATORS:
        raise DefinitionNotSupported(f"state {name}: choice operators {sorted(operators)}")
    for nested in (
        rule.get("And", []) + rule.get("Or", []) + ([rule["Not"]] if "Not" in rule else [])
    ):
        _check_rule(name, nested)


def _next_states(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [c["Next"] for c in state.get("Choices", [])]
    targets += [c["Next"] for c in state.get("Catch", [])]
    if "Default" in state:
        targets.append(state["Default"])
    return targets


class StateMachines:
    """Step Functions for one account and region, driven by the virtual clock.

    `resources` maps the definition's Task `Resource` (after substitution) to a callable that
    runs the Lambda function in-process and returns its result or raises.
    """

    def __init__(
        self,
        clock: Scheduler,
        invoke: Callable[[str, dict[str, Any]], Any],
        *,
        unavailable: Callable[[float], bool] | None = None,
    ) -> None:
        self._clock = clock
        self._invoke = invoke
        self._unavailable = unavailable or (lambda _now: False)
        self.machines: dict[str, dict[str, Any]] = {}
        self.executions: dict[str, Execution] = {}
        self.counters: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def create_state_machine(
        self, arn: str, definition: str | dict[str, Any], substitutions: dict[str, str]
    ) -> None:
        text = definition if isinstance(definition, str) else json.dumps(definition)
        for key, value in substitutions.items():
            text = text.replace("${" + key + "}", value)
        parsed = json.loads(text)
        validate(parsed)
        self.machines[arn] = parsed

    # ---- the API the app calls ---------------------------------------------------------------

    def start_execution(self, state_machine_arn: str, name: str, input_text: str) -> Execution:
        if state_machine_arn not in self.machines:
            raise ApiError(400, "StateMachineDoesNotExist", f"{state_machine_arn} not found")
        arn = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name
        if arn in self.executions:
            # Standard: a name stays taken (90 days), whatever the first execution's input was.
            raise ApiError(400, "ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        execution = Execution(arn, name, json.loads(input_text or "{}"), self._clock.now())
        self.executions[arn] = execution
        self._count("ExecutionsStarted")
        machine = self.machines[state_machine_arn]
        self._clock.after(0, self._enter, arn, machine["StartAt"], execution.input, machine)
        return execution

    def describe_execution(self, execution_arn: str) -> Execution:
        execution = self.executions.get(execution_arn)
        if execution is None:
            raise ApiError(
                400, "ExecutionDoesNotExist", f"Execution Does Not Exist: '{execution_arn}'"
            )
        return execution

    def stop_execution(self, execution_arn: str, error: str = "", cause: str = "") -> Execution:
        execution = self.describe_execution(execution_arn)
        if execution.status == "RUNNING":
            execution.status = "ABORTED"
            execution.stopped = self._clock.now()
            execution.error, execution.cause = error, cause
            execution.history.append((self._clock.now(), execution.state, "aborted"))
            self._count("ExecutionsAborted")
        return execution

    # ---- the interpreter ---------------------------------------------------------------------

    def _enter(self, arn: str, name: str, document: Any, machine: dict[str, Any]) -> None:
        execution = self.executions[arn]
        if execution.status != "RUNNING":
            return  # stopped while waiting: the scheduled state never runs
        state = machine["States"][name]
        execution.state = name
        execution.transitions += 1
        execution.history.append((self._clock.now(), name, "entered"))
        kind = state["Type"]
        try:
            if kind == "Succeed":
                self._finish(execution, "SUCCEEDED", output=document)
            elif kind == "Fail":
                self._finish(
                    execution, "FAILED", error=state.get("Error", ""), cause=state.get("Cause", "")
                )
            elif kind == "Pass":
                result = state.get("Result", document)
                if "Parameters" in state:
                    result = _parameters(state["Parameters"], document)
                self._next(
                    arn, state, _path_set(document, state.get("ResultPath", "$"), result), machine
                )
            elif kind == "Choice":
                for rule in state.get("Choices", []):
                    if _choice_matches(rule, document):
                        self._go(arn, rule["Next"], document, machine, 0)
                        return
                if "Default" not in state:
                    raise TaskError("States.NoChoiceMatched", f"no choice matched in {name}")
                self._go(arn, state["Default"], document, machine, 0)
            elif kind == "Wait":
                seconds = (
                    state["Seconds"]
                    if "Seconds" in state
                    else _path_get(document, state["SecondsPath"])
                )
                if not isinstance(seconds, int | float) or seconds < 0:
                    raise TaskError("States.Runtime", f"{name}: wait of {seconds!r} seconds")
                self._go(arn, state["Next"], document, machine, float(seconds))
            elif kind == "Task":
                self._task(arn, name, state, document, machine, attempt=0)
        except KeyError as exc:
            self._finish(execution, "FAILED", error="States.Runtime", cause=f"path {exc}")
        except TaskError as exc:
            self._finish(execution, "FAILED", error=exc.error, cause=exc.cause)

    def _task(
        self,
        arn: str,
        name: str,
        state: dict[str, Any],
        document: Any,
        machine: dict[str, Any],
        attempt: int,
    ) -> None:
        execution = self.executions[arn]
        if execution.status != "RUNNING":
            return
        payload = _parameters(state.get("Parameters", document), document)
        try:
            result = self._invoke(state["Resource"], payload)
        except TaskError as exc:
            self._count(f"TaskFailed:{exc.error}")
            execution.history.append((self._clock.now(), name, f"failed {exc.error}"))
            delay = _retry_delay(state.get("Retry", []), exc.error, attempt)
            if delay is not None:
                self._count("TaskRetried")
                self._clock.after(
                    delay, self._task, arn, name, state, document, machine, attempt + 1
                )
                return
            for catcher in state.get("Catch", []):
                if _error_matches(catcher["ErrorEquals"], exc.error):
                    caught = {"Error": exc.error, "Cause": exc.cause}
                    after = _path_set(document, catcher.get("ResultPath", "$"), caught)
                    self._go(arn, catcher["Next"], after, machine, 0)
                    return
            # Retries spent and nothing caught it: the execution fails (also when this runs
            # from the clock after a retry interval, outside _enter).
            self._finish(execution, "FAILED", error=exc.error, cause=exc.cause)
            return
        self._next(arn, state, _path_set(document, state.get("ResultPath", "$"), result), machine)

    def _next(
        self, arn: str, state: dict[str, Any], document: Any, machine: dict[str, Any]
    ) -> None:
        if state.get("End"):
            self._finish(self.executions[arn], "SUCCEEDED", output=document)
        else:
            self._go(arn, state["Next"], document, machine, 0)

    def _go(
        self, arn: str, name: str, document: Any, machine: dict[str, Any], delay: float
    ) -> None:
        if delay > 0:
            self._clock.after(delay, self._enter, arn, name, document, machine)
        else:
            self._enter(arn, name, document, machine)

    def _finish(
        self,
        execution: Execution,
        status: str,
        output: Any = None,
        error: str = "",
        cause: str = "",
    ) -> None:
        execution.status = status
        execution.stopped = self._clock.now()
        execution.output, execution.error, execution.cause = output, error, cause
        execution.history.append((self._clock.now(), execution.state, status.lower()))
        self._count(f"Executions{status.capitalize()}")

    # ---- the botocore boundary ---------------------------------------------------------------

    def install(self, session: Any) -> None:
        """Answer the app's Step Functions calls made through `session`'s clients."""
        session.events.register("before-call.sfn", self._before_call)

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        operation = model.name
        body = params.get("body") or b"{}"
        request = json.loads(body.decode() if isinstance(body, bytes) else body)
        if self._unavailable(self._clock.now()):
            self._count(f"Refused:{operation}")
            return _error_response(
                503, "ServiceUnavailable", "rehearsal fault: Step Functions down"
            )
        try:
            if operation == "StartExecution":
                execution = self.start_execution(
                    request["stateMachineArn"], request.get("name", ""), request.get("input", "{}")
                )
                return _response({"executionArn": execution.arn, "startDate": execution.started})
            if operation == "DescribeExecution":
                execution = self.describe_execution(request["executionArn"])
                return _response(
                    {
                        "executionArn": execution.arn,
                        "name": execution.name,
                        "status": execution.status,
                        "startDate": execution.started,
                        "input": json.dumps(execution.input),
                    }
                )
            if operation == "StopExecution":
                execution = self.stop_execution(
                    request["executionArn"], request.get("error", ""), request.get("cause", "")
                )
                return _response({"stopDate": execution.stopped or self._clock.now()})
        except ApiError as exc:
            return _error_response(exc.status, exc.code, exc.message)
        self._count(f"Unsupported:{operation}")
        return _error_response(400, "UnsupportedOperation", f"{operation} not played in-process")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _retry_delay(retriers: list[dict[str, Any]], error: str, attempt: int) -> float | None:
    """Seconds before the next attempt, or None when no retrier matches or attempts are spent.

    Simplification: attempts are counted per state, not per retrier (the definition has one
    retrier per Task state, where the two agree).
    """
    for retrier in retriers:
        if _error_matches(retrier["ErrorEquals"], error):
            if attempt >= int(retrier.get("MaxAttempts", 3)):
                return None
            interval = float(retrier.get("IntervalSeconds", 1))
            return interval * float(retrier.get("BackoffRate", 2.0)) ** attempt
    return None


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def _response(parsed: dict[str, Any]) -> tuple[_Http, dict[str, Any]]:
    parsed["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": "rehearsal"}
    return _Http(200), parsed


def _error_response(status: int, code: str, message: str) -> tuple[_Http, dict[str, Any]]:
    return _Http(status), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "rehearsal"},
    }


def lambda_invoker(app: Any) -> Callable[[str, dict[str, Any]], Any]:
    """Invoke a Lambda function of the app by its ARN, in-process, as Step Functions does.

    An exception becomes a TaskError named after its class, as Lambda reports `errorType` for
    Python functions, so Retry `ErrorEquals: ["StorageUnavailable"]` matches as in AWS.
    """
    from ops.standin.lambdas import _Context

    def invoke(resource: str, payload: dict[str, Any]) -> Any:
        name = resource.rsplit(":function:", 1)[-1]
        handler = app.handler_map[name]
        try:
            # A round trip through JSON, as the payload and result cross the Lambda API.
            result = handler(json.loads(json.dumps(payload)), _Context(name))
        except Exception as exc:  # Step Functions sees every error by its type
            raise TaskError(type(exc).__name__, str(exc)[:500]) from exc
        return json.loads(json.dumps(result))

    return invoke
