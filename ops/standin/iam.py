"""IAM as AWS enforces it, for the in-process app: each AWS call a function makes, judged against
that function's own role in the packaged template.

moto answers every in-process call whatever the caller's role says, so a role that lacks an
action passes every test and fails on AWS (the copy worker's `GetObject` with a `VersionId`, the
board's `Scan`). Where moto does enforce IAM (`INITIAL_NO_AUTH_ACTION_COUNT`) it judges most
services' actions against the resource "*" and S3's by the request alone, so a role scoped to its
tables could not be checked there. Instead:

- `Recorder` notes, at botocore's event hooks on the sessions the app's Container uses, every
  call the app makes while one of its Lambda functions runs: the function (its handler string,
  the template's `Handler`), the operation, and the IAM actions and resource ARNs AWS evaluates
  for it (`requirements`, from the Service Authorization Reference and each API's "Permissions"
  notes).
- `evaluate` renders each function's role from the packaged template (`chalice package
  --merge-template infra/resources.json`) and judges every recorded (action, resource) with moto's
  own policy evaluator (`moto.iam.access_control.IAMPolicy`, the class moto's access control
  uses), the way IAM combines a role's policies: an explicit Deny wins, else one Allow is needed.

A function is known by the handler Chalice runs: HTTP requests are the API handler (`app.app`),
each `@on_*`/`@lambda_function` handler is its own function (its `handler_string` is the
template's `Handler`). Calls made outside any handler (test setup, the stand-in's own polling)
are not any function's and are not judged.
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "infra" / "resources.json"
REGION = "ap-northeast-1"
# moto's default account; the rendered template and the recorded ARNs both use it.
ACCOUNT = "123456789012"
API_HANDLER = "app.app"

# The Lambda function whose handler is running (its handler string), None outside any handler.
_running: contextvars.ContextVar[str | None] = contextvars.ContextVar("iam_function", default=None)


@dataclass(frozen=True, order=True)
class Call:
    """One IAM decision a call needs: `function` (handler string) does `action` on `resource`.

    `resource` names stack resources by logical id (`table/{PresenceTable}`) so the same call
    recorded under the tests' table names and under the rehearsal's compares equal."""

    function: str
    operation: str
    action: str
    resource: str


@dataclass(frozen=True)
class Denial:
    function: str
    role: str
    call: Call

    def __str__(self) -> str:
        c = self.call
        return f"{self.function} ({self.role}): {c.operation} needs {c.action} on {c.resource}"


# --- which function is running ------------------------------------------------------------


@contextmanager
def running(handler_string: str) -> Iterator[None]:
    token = _running.set(handler_string)
    try:
        yield
    finally:
        _running.reset(token)


def attribute(app: Any) -> None:
    """Make every handler of `app` say which function it is while it runs (idempotent).

    Event handlers are wrapped where Chalice keeps them (`EventSourceHandler.func`, its
    middleware chain rebuilt on next use), so handlers called straight from their module (the
    escalation harness, tests) are attributed too; HTTP requests through a middleware."""
    if getattr(app, "_iam_attributed", False):
        return
    strings = {
        source.name: source.handler_string
        for source in [*app.event_sources, *app.pure_lambda_functions]
    }
    for name, handler_string in strings.items():
        handler = app.handler_map[name]
        handler.func = _attributed(handler_string, handler.func)
        handler.handler = None  # Chalice builds the middleware chain on first call: again

    def api_handler(event: Any, get_response: Callable[[Any], Any]) -> Any:
        with running(API_HANDLER):
            return get_response(event)

    app.register_middleware(api_handler, "http")
    app._iam_attributed = True


def _attributed(handler_string: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with running(handler_string):
            return func(*args, **kwargs)

    return call


# --- recording ----------------------------------------------------------------------------


class Recorder:
    """Collects the `Call`s the app's functions make through the sessions it is installed on.

    `names` gives the run's physical names of stack resources (table, bucket, queue, state
    machine ARN) -> logical id; it is asked at call time, so settings changed after install
    count."""

    def __init__(self) -> None:
        self.calls: set[Call] = set()

    def install(self, session: Any, names: Callable[[], Mapping[str, str]]) -> None:
        """Hook `session` (a boto3 Session): only clients created after this are seen."""
        events = session.events
        # Several recorders may hook one session: each keeps its own notes in the call's context.
        pending_key, bucket_key = f"iam_pending_{id(self)}", f"iam_bucket_{id(self)}"

        def before(
            params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
        ) -> None:
            function = _running.get()
            if function is None:
                return
            service = model.service_model.service_name
            needs = requirements(service, model.name, dict(params), names())
            pending = [Call(function, f"{service}.{model.name}", a, r) for a, r in needs]
            if context.get("is_presign_request"):
                # A presigned URL is used later, with this role's credentials, by whoever holds it.
                self.calls.update(pending)
                return
            context[pending_key] = pending
            context[bucket_key] = params.get("Bucket")

        def after(http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
            pending: list[Call] = context.pop(pending_key, [])
            self.calls.update(pending)
            bucket = context.pop(bucket_key, None)
            status = getattr(http_response, "status_code", 0)
            if pending and model.name in ("GetObject", "HeadObject") and status == 404 and bucket:
                # "If the object you request doesn't exist, the error that Amazon S3 returns
                # depends on whether you also have the s3:ListBucket permission": 404 with it,
                # 403 Forbidden without it. The code that saw a 404 here needs it.
                # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
                resource = f"arn:aws:s3:::{_logical('s3', bucket, names())}"
                self.calls.add(
                    Call(pending[0].function, pending[0].operation, "s3:ListBucket", resource)
                )

        def failed(context: dict[str, Any], **_: Any) -> None:
            # No answer (a timeout, a refused connection): AWS may still have judged it.
            self.calls.update(context.pop(pending_key, []))
            context.pop(bucket_key, None)

        events.register("before-parameter-build", before)
        events.register("after-call", after)
        events.register("after-call-error", failed)


# Recorders every run of the app in this process feeds (tests/conftest.py adds the suite's).
_ACTIVE: list[Recorder] = []


def record_into(recorder: Recorder) -> None:
    if recorder not in _ACTIVE:
        _ACTIVE.append(recorder)


def stop_recording(recorder: Recorder) -> None:
    """Sessions hooked already keep feeding it; sessions made from now on do not."""
    if recorder in _ACTIVE:
        _ACTIVE.remove(recorder)


def watch(app: Any, session: Any, settings: Callable[[], Any]) -> None:
    """Attribute `app`'s handlers and hook `session` for every active recorder: called where a
    Container's session is made (tests/conftest.py, ops/standin/harness.py), before its clients.
    `settings` gives the run's settings when a call is made (the names of its resources)."""
    if not _ACTIVE:
        return
    attribute(app)
    # The names are read again only when the run's settings object changes (tests replace it).
    seen: list[tuple[Any, dict[str, str]]] = []

    def names() -> dict[str, str]:
        current = settings()
        if not seen or seen[0][0] is not current:
            seen[:] = [(current, resource_names(current))]
        return seen[0][1]

    for recorder in _ACTIVE:
        recorder.install(session, names)


def resource_names(settings: Any, template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """`service:physical name` of each stack resource in this run -> its logical id, read from
    the functions' environment in the template (`CUSTOMERS_TABLE: {"Ref": "CustomersTable"}`,
    `ESCALATION_STATE_MACHINE_ARN: {"Ref": "EscalationStateMachine"}`) and the run's settings.
    Keyed by service: a table and a bucket may share a name (`cc-local-recordings`)."""
    if template is None:
        template = _merged_resources()
    values = settings.flat()
    resources = template.get("Resources", {})
    found: dict[str, str] = {}
    for variable, logical in _environment_references(template):
        physical = values.get(variable.lower())
        service = SERVICES.get(resources.get(logical, {}).get("Type", ""), "")
        if physical and service:
            found[f"{service}:{physical}"] = logical
    return found


SERVICES = {
    "AWS::DynamoDB::Table": "dynamodb",
    "AWS::S3::Bucket": "s3",
    "AWS::SQS::Queue": "sqs",
    "AWS::StepFunctions::StateMachine": "states",
    "AWS::Cognito::UserPool": "cognito-idp",
}


_MERGED: dict[str, Any] = {}


def _merged_resources() -> dict[str, Any]:
    """infra/resources.json, read once: it is where the functions' environment is declared."""
    if not _MERGED:
        _MERGED.update(json.loads(RESOURCES.read_text(encoding="utf-8")))
    return _MERGED


def _environment_references(template: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    blocks = [template.get("Globals", {}).get("Function", {}).get("Environment", {})]
    blocks += [
        r.get("Properties", {}).get("Environment", {})
        for r in template.get("Resources", {}).values()
    ]
    for block in blocks:
        for variable, value in (block or {}).get("Variables", {}).items():
            if isinstance(value, dict) and "Ref" in value:
                yield variable, str(value["Ref"])
            elif isinstance(value, dict) and "Fn::GetAtt" in value:
                yield variable, str(value["Fn::GetAtt"][0])


# --- which actions an operation needs -----------------------------------------------------
#
# The action of an operation is `service:Operation` unless the Service Authorization Reference
# says otherwise (https://docs.aws.amazon.com/service-authorization/latest/reference/
# reference_policies_actions-resources-contextkeys.html); the exceptions our code reaches:
# - S3 GetObject/HeadObject with a VersionId need s3:GetObjectVersion, not s3:GetObject
#   ("If you include a versionId in your request header, you must have the
#   s3:GetObjectVersion permission ... The s3:GetObject permission is not required"),
#   https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html; HeadObject needs
#   "the relevant read object (or version) permission", API_HeadObject.html. ListObjects(V2) is
#   s3:ListBucket on the bucket (list_amazons3.html).
# - S3 PutObject with SSE-KMS under a customer managed key (SSEKMSKeyId) needs
#   kms:GenerateDataKey on that key; under the AWS managed key aws/s3 the key policy grants it
#   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
# - DynamoDB TransactWriteItems is authorised per item as PutItem/UpdateItem/DeleteItem/
#   ConditionCheckItem, TransactGetItems as GetItem; a Query/Scan on an index is on the index ARN
#   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html,
#   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
# - Transcribe's StartTranscriptionJob reads the media and writes the output with the caller's
#   permissions: s3:GetObject on the media, s3:PutObject on the output
#   (https://docs.aws.amazon.com/transcribe/latest/dg/security_iam_id-based-policy-examples.html,
#   "Permissions required for IAM roles"); with OutputEncryptionKMSKeyId also kms:Encrypt and
#   kms:GenerateDataKey on that key.
# - Step Functions StartExecution is on the state machine ARN, DescribeExecution/StopExecution
#   on the execution ARN (list_awsstepfunctions.html); SQS on the queue ARN (list_amazonsqs.html).
# - Cognito's Admin* user operations (AdminGetUser) are on the user pool's ARN
#   (list_amazoncognitouserpools.html).

Requirement = tuple[str, str]


def requirements(
    service: str, operation: str, params: Mapping[str, Any], names: Mapping[str, str]
) -> list[Requirement]:
    """The (action, resource ARN) pairs IAM checks for one call; stack resources by logical id."""

    def table(physical: str) -> str:
        return _logical("dynamodb", physical, names)

    def bucket(physical: str) -> str:
        return _logical("s3", physical, names)

    if service == "dynamodb":
        return _dynamodb(operation, params, table)
    if service == "s3":
        return _s3(operation, params, bucket)
    if service == "sqs":
        queue = params.get("QueueName") or str(params.get("QueueUrl", "")).rsplit("/", 1)[-1]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{_logical('sqs', str(queue), names)}"
        return [(f"sqs:{operation}", arn)]
    if service == "stepfunctions":
        return _states(operation, params, names)
    if service == "transcribe":
        return _transcribe(operation, params, bucket)
    if service == "secretsmanager":
        secret = str(params.get("SecretId", ""))
        if not secret.startswith("arn:"):
            secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}-AbCdEf"
        return [(f"secretsmanager:{operation}", secret)]
    if service == "cognito-idp" and params.get("UserPoolId"):
        # Admin* operations are on the user pool's ARN (list_amazoncognitouserpools.html).
        pool = _logical("cognito-idp", str(params["UserPoolId"]), names)
        return [
            (f"cognito-idp:{operation}", f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool}")
        ]
    if service == "ssm":
        path = str(params.get("Path") or params.get("Name") or "")
        return [(f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{path}")]
    # Not modelled: judged as `service:Operation` on "*", which only a "*" grant allows.
    return [(f"{_prefix(service)}:{operation}", "*")]


def _prefix(service: str) -> str:
    """The IAM prefix of a botocore service name where the two differ."""
    return {"stepfunctions": "states"}.get(service, service)


def _table_arn(table: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def _dynamodb(
    operation: str, params: Mapping[str, Any], name: Callable[[str], str]
) -> list[Requirement]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [
            (f"dynamodb:{operation}", _table_arn(name(t))) for t in params.get("RequestItems", {})
        ]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        per_item = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
            "Get": "GetItem",
        }
        return [
            (f"dynamodb:{per_item[kind]}", _table_arn(name(detail["TableName"])))
            for item in params.get("TransactItems", [])
            for kind, detail in item.items()
        ]
    arn = _table_arn(name(str(params.get("TableName", "*"))))
    if params.get("IndexName"):
        arn += f"/index/{params['IndexName']}"
    return [(f"dynamodb:{operation}", arn)]


def _s3(operation: str, params: Mapping[str, Any], name: Callable[[str], str]) -> list[Requirement]:
    bucket = name(str(params.get("Bucket", "")))
    obj = f"arn:aws:s3:::{bucket}/{params.get('Key', '')}"
    versioned = bool(params.get("VersionId"))
    if operation in ("GetObject", "HeadObject"):
        return [("s3:GetObjectVersion" if versioned else "s3:GetObject", obj)]
    if operation in ("ListObjects", "ListObjectsV2"):
        return [("s3:ListBucket", f"arn:aws:s3:::{bucket}")]
    if operation == "DeleteObject":
        return [("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", obj)]
    if operation == "PutObject":
        needs = [("s3:PutObject", obj)]
        key_id = params.get("SSEKMSKeyId")
        if key_id:
            needs.append(("kms:GenerateDataKey", _kms_arn(str(key_id))))
        return needs
    return [(f"s3:{operation}", f"arn:aws:s3:::{bucket}")]


def _kms_arn(key_id: str) -> str:
    return key_id if key_id.startswith("arn:") else f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"


def _states(
    operation: str, params: Mapping[str, Any], names: Mapping[str, str]
) -> list[Requirement]:
    if "stateMachineArn" in params:
        arn = str(params["stateMachineArn"])
        logical = names.get(f"states:{arn}")
        return [(f"states:{operation}", f"{{{logical}.Arn}}" if logical else arn)]
    execution = str(params.get("executionArn", ""))
    # arn:...:execution:<machine name>:<execution>: the machine's ARN names the stack resource.
    machine_arn, _, execution_name = execution.replace(
        ":execution:", ":stateMachine:", 1
    ).rpartition(":")
    logical = names.get(f"states:{machine_arn}")
    if logical is None:
        return [(f"states:{operation}", execution)]
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{{{logical}.Name}}:{execution_name}"
    return [(f"states:{operation}", execution)]


def _transcribe(
    operation: str, params: Mapping[str, Any], name: Callable[[str], str]
) -> list[Requirement]:
    job_name = params.get("TranscriptionJobName", "*")
    job = f"arn:aws:transcribe:{REGION}:{ACCOUNT}:transcription-job/{job_name}"
    needs = [(f"transcribe:{operation}", job)]
    if operation == "StartTranscriptionJob":
        media = str(params.get("Media", {}).get("MediaFileUri", ""))
        found = re.fullmatch(r"s3://([^/]+)/(.+)", media)
        if found:
            needs.append(("s3:GetObject", f"arn:aws:s3:::{name(found.group(1))}/{found.group(2)}"))
        if params.get("OutputBucketName"):
            output_bucket = name(str(params["OutputBucketName"]))
            output = f"arn:aws:s3:::{output_bucket}/{params.get('OutputKey', '')}"
            needs.append(("s3:PutObject", output))
        key_id = params.get("OutputEncryptionKMSKeyId")
        if key_id:
            needs += [
                ("kms:Encrypt", _kms_arn(str(key_id))),
                ("kms:GenerateDataKey", _kms_arn(str(key_id))),
            ]
    return needs


def _logical(service: str, physical: str, names: Mapping[str, str]) -> str:
    """`{LogicalId}` for a stack resource's physical name; the name itself otherwise."""
    logical = names.get(f"{service}:{physical}")
    return f"{{{logical}}}" if logical else physical


# --- judging ------------------------------------------------------------------------------


def evaluate(calls: Iterable[Call], template: Mapping[str, Any]) -> list[Denial]:
    """Every call its function's role does not allow, judged by moto's IAM policy evaluator."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    roles = function_roles(template)
    policies = {
        role: [IAMPolicy(json.dumps(d)) for d in role_policies(template, role)]
        for role in set(roles.values())
    }
    names = _names_of(template)
    denials = []
    for call in sorted(calls):
        role = roles.get(call.function)
        if role is None:
            raise KeyError(f"{call.function} is not a function of the packaged template")
        resource = _render_recorded(call.resource, template, names)
        allowed = False
        for policy in policies[role]:
            result = policy.is_action_permitted(call.action, resource)
            if result == PermissionResult.DENIED:
                allowed = False
                break
            allowed = allowed or result == PermissionResult.PERMITTED
        if not allowed:
            denials.append(Denial(call.function, role, call))
    return denials


def function_roles(template: Mapping[str, Any]) -> dict[str, str]:
    """Handler string -> the logical id of the role that function runs with."""
    roles = {}
    for resource in template["Resources"].values():
        if resource.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        props = resource["Properties"]
        roles[str(props["Handler"])] = str(props["Role"]["Fn::GetAtt"][0])
    return roles


def role_policies(template: Mapping[str, Any], role: str) -> list[dict[str, Any]]:
    """The role's inline policies and the AWS::IAM::Policy resources attached to it, rendered.

    AWS managed policies (ManagedPolicyArns: logs, X-Ray) are not expanded: no call our code
    makes through boto3 is theirs, and a call that needed them would be reported denied."""
    resources = template["Resources"]
    documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
    for resource in resources.values():
        if resource.get("Type") == "AWS::IAM::Policy":
            attached = resource["Properties"].get("Roles", [])
            if {"Ref": role} in attached:
                documents.append(resource["Properties"]["PolicyDocument"])
    return [_render(d, template) for d in documents]


def _names_of(template: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """What Ref and Fn::GetAtt give for each resource, its name being `{LogicalId}` unless the
    template names it (then that name, rendered)."""
    out: dict[str, dict[str, str]] = {}
    name_keys = ("TableName", "BucketName", "QueueName", "StateMachineName", "Name", "FunctionName")
    for logical, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource.get("Type", "")
        explicit = next((props[k] for k in name_keys if k in props), None)
        if kind not in NAMED:
            explicit = None
        name = _render(explicit, template, {}) if explicit is not None else f"{{{logical}}}"
        name = str(name)
        if kind == "AWS::DynamoDB::Table":
            arn = _table_arn(name)
            out[logical] = {"Ref": name, "Arn": arn, "StreamArn": arn + "/stream/label"}
        elif kind == "AWS::S3::Bucket":
            out[logical] = {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
        elif kind == "AWS::SQS::Queue":
            out[logical] = {
                "Ref": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                "QueueName": name,
            }
        elif kind == "AWS::SecretsManager::Secret":
            out[logical] = {
                "Ref": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"
            }
        elif kind == "AWS::StepFunctions::StateMachine":
            arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
            out[logical] = {"Ref": arn, "Arn": arn, "Name": name}
        elif kind == "AWS::Cognito::UserPool":
            arn = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{name}"
            out[logical] = {"Ref": name, "Arn": arn}
        elif kind == "AWS::KMS::Key":
            arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}"
            out[logical] = {"Ref": name, "Arn": arn}
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            out[logical] = {
                "Ref": name,
                "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            }
        else:
            out[logical] = {"Ref": name, "Arn": f"arn:aws:unmodelled:{REGION}:{ACCOUNT}:{name}"}
    return out


NAMED = frozenset(
    {
        *SERVICES,
        "AWS::SecretsManager::Secret",
        "AWS::KMS::Key",
        "AWS::Serverless::Function",
        "AWS::Lambda::Function",
    }
)


def _pseudo(template: Mapping[str, Any]) -> dict[str, str]:
    values = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": "contact-center",
        "AWS::URLSuffix": "amazonaws.com",
    }
    for name, parameter in template.get("Parameters", {}).items():
        values[name] = str(parameter.get("Default", f"{{{name}}}"))
    # The stage is what `chalice package --stage` bakes into STAGE.
    stage = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    values.setdefault("Stage", str(stage.get("Variables", {}).get("STAGE", "dev")))
    return values


def _render(
    value: Any, template: Mapping[str, Any], names: dict[str, dict[str, str]] | None = None
) -> Any:
    """CloudFormation's Ref, Fn::GetAtt, Fn::Sub and Fn::Join, resolved for this account."""
    if names is None:
        names = _names_of(template)
    pseudo = _pseudo(template)

    def ref(target: str, attribute: str = "Ref") -> str:
        if attribute == "Ref" and target in pseudo:
            return pseudo[target]
        return names[target][attribute]

    def sub(text: str, variables: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(render(variables[token]))
            target, _, attribute = token.partition(".")
            return ref(target, attribute or "Ref")

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def render(v: Any) -> Any:
        if isinstance(v, list):
            return [render(x) for x in v]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            ((key, arg),) = v.items()
            if key == "Ref":
                return ref(str(arg))
            if key == "Fn::GetAtt":
                target, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return ref(target, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return sub(text, variables)
            if key == "Fn::Join":
                return str(arg[0]).join(str(render(x)) for x in arg[1])
        return {k: render(x) for k, x in v.items()}

    return render(value)


def _render_recorded(
    resource: str, template: Mapping[str, Any], names: Mapping[str, Mapping[str, str]]
) -> str:
    """A recorded ARN with its `{LogicalId}` parts replaced as the template names them."""

    def one(match: re.Match[str]) -> str:
        logical, attribute = match.group(1), match.group(2)
        if logical not in names:
            return match.group(0)
        kind = template["Resources"][logical].get("Type")
        # `{Queue}` is a queue's name, `{Other}` any other resource's Ref (a table's name).
        default = "QueueName" if kind == "AWS::SQS::Queue" else "Ref"
        return names[logical][attribute or default]

    return re.sub(r"\{([A-Za-z0-9]+)(?:\.([A-Za-z]+))?\}", one, resource)


def packaged_template(out_dir: Path, stage: str = "dev") -> dict[str, Any]:
    """`chalice package --merge-template infra/resources.json`, as ops deploy it."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "chalice"),
            "package",
            "--stage",
            stage,
            "--merge-template",
            str(RESOURCES),
            str(out_dir),
        ],
        cwd=ROOT,
        # A deployed stage's pages need their origin for CORS; which one does not matter here.
        env={
            "WEB_ORIGIN": "https://softphone.example.test",
            **os.environ,
            "AWS_DEFAULT_REGION": REGION,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"chalice package failed:\n{done.stderr[-3000:]}")
    template: dict[str, Any] = json.loads((out_dir / "sam.json").read_text())
    return template
