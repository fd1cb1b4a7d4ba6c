"""`python -m ops rollback --stage S [--to RELEASE]`: the functions and the pages, one release back.

A chalice-owned stage (the default of `ops deploy`) rolls its functions back by their code: every
function gets the zip of the earlier release back (ops/chalice_stage.py, `rollback_functions`);
the stack (tables, roles...) stays as it is. What follows is the `--pipeline` shape's way.

The functions go back by their packaged template, not by Lambda versions and aliases. Chalice's
package makes unversioned AWS::Serverless::Function resources that API Gateway, the streams,
the queue and the state machine call by their plain ARNs; moving them to aliases would mean an
AutoPublishAlias on every function and every caller re-pointed through the merge template
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-autopublishalias),
and an alias would still not bring back a changed role, environment or schedule. A packaged
template does: `ops deploy` keeps every template it deployed in the artifacts bucket (its code
zip is there too, under its own hash, and is never overwritten), and rolling back is an
UpdateStack with the previous template and the parameters the stack has now
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStack.html).
CloudFormation replaces the functions' code and configuration together and, if that update
fails, rolls itself back to the release that was live.

Whatever else the newer template changed goes back too: a table or queue it added is deleted
unless its DeletionPolicy is Retain. The pages go back with ops/web_deploy.py's rollback.

releases/history.json of the stage, in the artifacts bucket:
    {"live": "<release>", "releases": [{"release", "template", "deployed_at"}], "log": [...]}
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ops.deployed import stack_name
from ops.deployment import Deployment, Stack, StackReleases, StepFailed


def deployed_parameters(deployment: Deployment) -> dict[str, str]:
    stack = deployment.client("cloudformation").describe_stacks(
        StackName=stack_name(deployment.stage)
    )["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}


def rollback(deployment: Deployment, to: str = "", pages: bool = True) -> int:
    """0: the functions (and pages) are on the earlier release; 1: the stack refused, 2: no
    earlier release. The output says which."""
    from ops.web_deploy import DeployError
    from ops.web_deploy import rollback as web_rollback

    say = deployment.say
    if _chalice_owned(deployment):
        from ops.chalice_stage import rollback_functions

        code = rollback_functions(deployment, to)
        if code:
            return code
        say("    done")
    else:
        code = _rollback_stack(deployment, to)
        if code:
            return code
    if not pages:
        return 0
    say("[2/2] pages")
    settings = deployment.settings()
    distribution = settings.web_distribution_id
    try:
        outcome = web_rollback(
            deployment.client("s3"),
            settings.web_site_bucket,
            cloudfront=deployment.client("cloudfront") if distribution else None,
            distribution=distribution,
        )
    except DeployError as exc:
        say(f"    not rolled back: {exc}")
        return 0
    say(f"    live: {outcome.release} (was {outcome.previous})")
    return 0


def _chalice_owned(deployment: Deployment) -> bool:
    from ops.deployment import _as_dict, chalice_owned_stack

    body = deployment.client("cloudformation").get_template(
        StackName=stack_name(deployment.stage), TemplateStage="Original"
    )
    return chalice_owned_stack(_as_dict(body["TemplateBody"]))


def _rollback_stack(deployment: Deployment, to: str) -> int:
    """A --pipeline stage: the stack goes back to an earlier packaged template."""
    say = deployment.say
    releases = StackReleases(deployment)
    try:
        history = releases.history()
        target = to or history.previous()
        template = releases.template(target)
    except StepFailed as exc:
        say(f"rollback: {exc}")
        return 2
    say(f"[1/2] functions: release {history.live or '-'} -> {target}")
    stack = Stack(template=template, parameters=deployed_parameters(deployment))
    deployment.options.pipeline = True  # the stack's own shape
    try:
        if stack.plan(deployment):
            stack.apply(deployment)
        else:
            say("    the stack already runs that release")
    except (StepFailed, ClientError) as exc:
        say(f"    FAILED: {exc}")
        return 1
    releases.record_template(template, action="rollback")
    say("    done")
    return 0


def run_for_stage(args: Any) -> int:
    import os
    from pathlib import Path

    import boto3

    from ops.deployment import Options

    if os.environ.get("AWS_ENDPOINT_URL"):
        print(f"refusing to roll back stage {args.stage!r} with AWS_ENDPOINT_URL set: unset it")
        return 2
    options = Options(stage=args.stage, agents=Path("-"), artifacts_bucket=args.artifacts_bucket)
    deployment = Deployment(boto3.session.Session(), options)
    return rollback(deployment, to=args.to, pages=not args.functions_only)


def add_arguments(sub: Any) -> None:
    sub.add_argument("--stage", required=True, help="the stage to roll back: dev, prod")
    sub.add_argument("--to", default="", help="a release id of the functions (default: previous)")
    sub.add_argument("--functions-only", action="store_true", help="leave the pages as they are")
    sub.add_argument(
        "--artifacts-bucket",
        default="",
        help="where ops deploy keeps the releases (default: contact-center-artifacts-"
        "<account>-<region>)",
    )
