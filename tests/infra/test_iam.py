"""Every AWS call each Lambda function makes is allowed by that function's own role, as IAM
would judge it on AWS; moto answers every call whatever the role says.

The calls are recorded at botocore's event hooks (ops/standin/iam.py): across this run's whole
test suite (every Container tests/conftest.py builds) and a rehearsal of the stand-in's
scenarios (ops/standin/harness.py), each with the function whose handler made it. They are
judged against the roles of the template ops deploy (`chalice package --merge-template
infra/resources.json`) by moto's IAM policy evaluator, with the actions AWS's Service
Authorization Reference and the APIs' permission notes name for each operation (a GetObject
with a VersionId needs s3:GetObjectVersion, not s3:GetObject).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.standin import iam
from ops.standin.iam import Call

COPY_WORKER = "chalicelib.api.recordings.copy_worker"
API = iam.API_HANDLER
TABLE = f"arn:aws:dynamodb:{iam.REGION}:{iam.ACCOUNT}:table"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return iam.packaged_template(tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def rehearsal() -> set[Call]:
    """The calls of the stand-in's scenarios: owner, team, missed offer, abandon, voicemail,
    cold and warm transfers, each recording copied, verified and transcribed."""
    from ops.simulate import Report, run_scenarios

    recorder = iam.Recorder()
    iam.record_into(recorder)
    try:
        run_scenarios(Report(), seed=7, floor_size=12)
    finally:
        iam.stop_recording(recorder)
    # Whether each scenario went as it should is tests/standin/test_rehearsal_e2e.py's to say;
    # here what matters is which calls they made (the tests below check what was reached).
    return recorder.calls


def actions(calls: set[Call]) -> set[tuple[str, str]]:
    return {(c.function, c.action) for c in calls}


def without_action(template: dict[str, Any], role: str, action: str) -> dict[str, Any]:
    broken = copy.deepcopy(template)
    for policy in broken["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            listed = statement["Action"]
            listed = [listed] if isinstance(listed, str) else listed
            statement["Action"] = [a for a in listed if a != action]
    return broken


def test_every_call_of_a_rehearsal_is_allowed_by_its_functions_role(
    template: dict[str, Any], rehearsal: set[Call]
) -> None:
    denials = iam.evaluate(rehearsal, template)
    assert not denials, "\n".join(str(d) for d in denials)
    # The rehearsal reaches the calls that failed on AWS while every test passed: the copy
    # worker's re-read of the version it wrote, the API's Scan of the directory for a transfer
    # to a team, and a handler of each kind (HTTP, SQS, stream, schedule, event, step).
    reached = actions(rehearsal)
    assert (COPY_WORKER, "s3:GetObjectVersion") in reached
    assert (API, "dynamodb:Scan") in reached
    functions = {c.function for c in rehearsal}
    assert {
        API,
        COPY_WORKER,
        "chalicelib.api.recordings.transcription_finished",
        "chalicelib.api.conversations.conversation_stream",
        "chalicelib.api.agents.presence_stream",
        "chalicelib.api.agents.presence_sweep",
        "chalicelib.api.escalation.enter_stage",
    } <= functions


def test_a_role_without_get_object_version_fails_the_copy_worker(
    template: dict[str, Any], rehearsal: set[Call]
) -> None:
    broken = without_action(template, "RecordingWorkerRole", "s3:GetObjectVersion")
    denied = {(d.function, d.call.action) for d in iam.evaluate(rehearsal, broken)}
    assert denied == {(COPY_WORKER, "s3:GetObjectVersion")}


def test_an_api_role_without_scan_fails_the_transfer_to_a_team(
    template: dict[str, Any], rehearsal: set[Call]
) -> None:
    broken = without_action(template, "ApiHandlerRole", "dynamodb:Scan")
    denied = {(d.function, d.call.action, d.call.resource) for d in iam.evaluate(rehearsal, broken)}
    assert (API, "dynamodb:Scan", f"{TABLE}/{{AgentsTable}}") in denied
    assert {function for function, _, _ in denied} == {API}


def test_a_role_allows_only_its_own_resources(template: dict[str, Any]) -> None:
    own = Call(API, "dynamodb.Scan", "dynamodb:Scan", f"{TABLE}/{{PresenceTable}}")
    other = Call(API, "dynamodb.Scan", "dynamodb:Scan", f"{TABLE}/{{ConversationsTable}}")
    unknown = Call(API, "dynamodb.Scan", "dynamodb:Scan", f"{TABLE}/someone-elses-table")
    worker = Call(COPY_WORKER, "dynamodb.Scan", "dynamodb:Scan", f"{TABLE}/{{PresenceTable}}")
    denied = [d.call for d in iam.evaluate({own, other, unknown, worker}, template)]
    assert sorted(denied) == sorted([other, unknown, worker])


def test_an_explicit_deny_wins_over_an_allow(template: dict[str, Any]) -> None:
    call = Call(COPY_WORKER, "s3.GetObject", "s3:GetObjectVersion", "arn:aws:s3:::b/recordings/x")
    strict = copy.deepcopy(template)
    statements = strict["Resources"]["RecordingWorkerRole"]["Properties"]["Policies"][0]
    statements["PolicyDocument"]["Statement"] += [
        {"Effect": "Allow", "Action": "s3:GetObjectVersion", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/recordings/*"},
    ]
    assert [d.call for d in iam.evaluate({call}, strict)] == [call]


def test_a_call_by_a_function_the_template_lacks_is_an_error(template: dict[str, Any]) -> None:
    with pytest.raises(KeyError):
        iam.evaluate({Call("app.nowhere", "s3.GetObject", "s3:GetObject", "*")}, template)


NAMES = {"dynamodb:cc-presence": "PresenceTable", "s3:cc-recordings": "RecordingsBucket"}


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (  # API_GetObject.html: a VersionId needs s3:GetObjectVersion, and not s3:GetObject
            "s3",
            "GetObject",
            {"Bucket": "cc-recordings", "Key": "recordings/a.wav", "VersionId": "v1"},
            [("s3:GetObjectVersion", "arn:aws:s3:::{RecordingsBucket}/recordings/a.wav")],
        ),
        (
            "s3",
            "HeadObject",
            {"Bucket": "cc-recordings", "Key": "recordings/a.wav"},
            [("s3:GetObject", "arn:aws:s3:::{RecordingsBucket}/recordings/a.wav")],
        ),
        (  # SSE-KMS under our own key: S3 asks KMS for a data key with the caller's rights
            "s3",
            "PutObject",
            {"Bucket": "other", "Key": "k", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k1"},
            [
                ("s3:PutObject", "arn:aws:s3:::other/k"),
                ("kms:GenerateDataKey", f"arn:aws:kms:{iam.REGION}:{iam.ACCOUNT}:key/k1"),
            ],
        ),
        (
            "dynamodb",
            "Query",
            {"TableName": "cc-presence", "IndexName": "team-index"},
            [("dynamodb:Query", f"{TABLE}/{{PresenceTable}}/index/team-index")],
        ),
        (  # transaction-apis-iam.html: each item is authorised as its own action
            "dynamodb",
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "cc-presence"}},
                    {"ConditionCheck": {"TableName": "t2"}},
                ]
            },
            [
                ("dynamodb:PutItem", f"{TABLE}/{{PresenceTable}}"),
                ("dynamodb:ConditionCheckItem", f"{TABLE}/t2"),
            ],
        ),
        (  # Transcribe reads the media and writes the output with the caller's permissions
            "transcribe",
            "StartTranscriptionJob",
            {
                "TranscriptionJobName": "j",
                "Media": {"MediaFileUri": "s3://cc-recordings/recordings/a.wav"},
                "OutputBucketName": "cc-recordings",
                "OutputKey": "out/a.json",
            },
            [
                (
                    "transcribe:StartTranscriptionJob",
                    f"arn:aws:transcribe:{iam.REGION}:{iam.ACCOUNT}:transcription-job/j",
                ),
                ("s3:GetObject", "arn:aws:s3:::{RecordingsBucket}/recordings/a.wav"),
                ("s3:PutObject", "arn:aws:s3:::{RecordingsBucket}/out/a.json"),
            ],
        ),
    ],
)
def test_the_actions_an_operation_needs(
    service: str, operation: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert iam.requirements(service, operation, params, NAMES) == expected


def test_a_missing_object_needs_list_bucket_to_be_a_404() -> None:
    # Without s3:ListBucket, S3 answers 403 for a missing key, and the code's NotFound path
    # (a 404) never runs: API_HeadObject.html, "Permissions".
    recorder = iam.Recorder()
    with mock_aws():
        session = boto3.session.Session(region_name=iam.REGION)
        recorder.install(session, lambda: {"s3:cc-recordings": "RecordingsBucket"})
        s3 = session.client("s3")
        s3.create_bucket(
            Bucket="cc-recordings", CreateBucketConfiguration={"LocationConstraint": iam.REGION}
        )
        with iam.running(COPY_WORKER), pytest.raises(s3.exceptions.ClientError):
            s3.head_object(Bucket="cc-recordings", Key="recordings/missing.wav")
    assert recorder.calls == {
        Call(
            COPY_WORKER,
            "s3.HeadObject",
            "s3:GetObject",
            "arn:aws:s3:::{RecordingsBucket}/recordings/missing.wav",
        ),
        Call(COPY_WORKER, "s3.HeadObject", "s3:ListBucket", "arn:aws:s3:::{RecordingsBucket}"),
    }


def test_calls_outside_any_function_are_not_recorded() -> None:
    recorder = iam.Recorder()
    with mock_aws():
        session = boto3.session.Session(region_name=iam.REGION)
        recorder.install(session, dict)
        session.client("sqs").create_queue(QueueName="setup")
    assert recorder.calls == set()


@pytest.mark.after_suite
def test_every_call_the_suite_made_is_allowed_by_its_functions_role(
    template: dict[str, Any],
) -> None:
    from tests.conftest import IAM_CALLS

    # Run alone, this module's rehearsal has fed the recorder; in `make test`, every test has.
    assert IAM_CALLS.calls, "no AWS call was recorded: the recorder is not installed"
    denials = iam.evaluate(IAM_CALLS.calls, template)
    assert not denials, "\n".join(str(d) for d in denials)


def test_the_template_packaged_here_is_the_one_in_the_repository() -> None:
    assert Path(__file__).resolve().parents[2] / "infra" / "resources.json" == iam.RESOURCES


# Issue 20: the recordings bucket is encrypted under our own key (RecordingsKey). With a bucket
# default of SSE-KMS under a customer managed key, whoever puts an object needs
# kms:GenerateDataKey on the key and whoever reads it kms:Decrypt, S3 asking KMS on their behalf
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html, "Permissions").
RECORDINGS_KEY = f"arn:aws:kms:{iam.REGION}:{iam.ACCOUNT}:key/{{RecordingsKey}}"
KMS_NEEDS = [
    # copies recordings (Transcribe writes its output with this role's rights)
    (COPY_WORKER, "RecordingWorkerRole", "kms:GenerateDataKey"),
    # verifies copies (Transcribe reads the media with this role's rights)
    (COPY_WORKER, "RecordingWorkerRole", "kms:Decrypt"),
    # signs playback links and reads transcripts
    (API, "ApiHandlerRole", "kms:Decrypt"),
]


@pytest.mark.parametrize(("function", "role", "action"), KMS_NEEDS)
def test_who_touches_recordings_may_use_their_key(
    template: dict[str, Any], function: str, role: str, action: str
) -> None:
    call = Call(function, "s3.PutObject", action, RECORDINGS_KEY)
    assert iam.evaluate({call}, template) == []
    assert iam.evaluate({call}, without_action(template, role, action)) != []


def test_the_recordings_key_is_not_usable_by_functions_that_never_read_recordings(
    template: dict[str, Any],
) -> None:
    calls = {
        Call(f, "s3.GetObject", "kms:Decrypt", RECORDINGS_KEY)
        for f in ("chalicelib.api.agents.presence_stream", "chalicelib.api.agents.presence_sweep")
    }
    assert len(iam.evaluate(calls, template)) == len(calls)


def test_the_streams_may_send_to_their_failure_destination(template: dict[str, Any]) -> None:
    # Lambda sends an on-failure record with the function's execution role
    # (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
    queue = f"arn:aws:sqs:{iam.REGION}:{iam.ACCOUNT}:{{StreamFailureQueue}}"
    calls = {
        Call(f, "sqs.SendMessage", "sqs:SendMessage", queue)
        for f in (
            "chalicelib.api.agents.presence_stream",
            "chalicelib.api.conversations.conversation_stream",
        )
    }
    assert iam.evaluate(calls, template) == []


def test_the_api_may_read_supervisors_mfa_on_its_own_pool_only(template: dict[str, Any]) -> None:
    # chalicelib/platform/staff_mfa.py: AdminGetUser's UserMFASettingList for a supervisor.
    [(action, resource)] = iam.requirements(
        "cognito-idp", "AdminGetUser", {"UserPoolId": "ap-northeast-1_x"},
        {"cognito-idp:ap-northeast-1_x": "UserPool"},
    )  # fmt: skip
    own = Call(API, "cognito-idp.AdminGetUser", action, resource)
    other_pool = Call(API, "cognito-idp.AdminGetUser", action, resource.replace("{UserPool}", "p"))
    worker = Call(COPY_WORKER, "cognito-idp.AdminGetUser", action, resource)
    denied = [d.call for d in iam.evaluate({own, other_pool, worker}, template)]
    assert sorted(denied) == sorted([other_pool, worker])
    broken = without_action(template, "ApiHandlerRole", "cognito-idp:AdminGetUser")
    assert [d.call for d in iam.evaluate({own}, broken)] == [own]
