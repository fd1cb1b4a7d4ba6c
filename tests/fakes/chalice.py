"""`chalice deploy --stage S` at its process boundary, for the `ops deploy` tests on moto.

The real command is run against a moto server in tests/ops/test_chalice_deploy.py. In the
in-process tests this fake does what Chalice 1.34's deployer does with the same inputs
(chalice/deploy/planner.py), against the same moto clients:

- reads .chalice/config.json the way Chalice does (top level, then the stage, then the
  function's `lambda_functions` entry) and imports nothing: the app's functions are the
  packaged template's (their names, handlers and event sources);
- a function that exists (found by name, like Chalice's remote state) is updated in place
  (code and configuration), else created, with the config's `iam_role_arn` when
  `manage_iam_role` is false, its memory, timeout and `reserved_concurrency`
  (PutFunctionConcurrency);
- a stream or queue mapping recorded in .chalice/deployed/<stage>.json is updated with its batch
  size and window only (Chalice's `update_lambda_event_source`), else created from the ARN the
  stage's environment_variables give the app at import;
- the REST API recorded there is kept and gets a new deployment of the `api` stage, else one is
  created; then .chalice/deployed/<stage>.json is written with what it made.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_MEMORY_SIZE, DEFAULT_LAMBDA_TIMEOUT

from ops.chalice_config import SOURCE_VARIABLES, chalice_name


class FakeChalice:
    def __init__(self, session: Any, template: dict[str, Any]) -> None:
        self.session = session
        self.template = template
        self.code = "release 1"
        self.runs = 0
        self.fail = False

    def deploy(self, stage: str, config_file: Path) -> None:
        from ops.chalice_config import deployed_file
        from ops.deployment import StepFailed

        if self.fail:
            self.fail = False
            raise StepFailed("chalice deploy failed: injected")
        self.runs += 1
        config = json.loads(config_file.read_text())
        path = deployed_file(config_file, stage)
        previous = json.loads(path.read_text())["resources"] if path.is_file() else []
        recorded = {r["name"]: r for r in previous}
        app = config["app_name"]
        stage_config = config["stages"][stage]
        variables = {
            **config.get("environment_variables", {}),
            **stage_config["environment_variables"],
        }
        lambda_ = self.session.client("lambda")
        resources: list[dict[str, Any]] = []
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", self.code)
        for logical, resource in sorted(self.template["Resources"].items()):
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            name = chalice_name(logical)
            function = f"{app}-{stage}" if name == "api_handler" else f"{app}-{stage}-{name}"
            entry = {**stage_config.get("lambda_functions", {}).get(name, {})}
            # Chalice's own lookup (stage entry, stage, top-level entry, top level) and defaults.
            scoped = Config(chalice_stage=stage, function_name=name, config_from_disk=config)
            size = scoped.lambda_memory_size or DEFAULT_LAMBDA_MEMORY_SIZE
            timeout = scoped.lambda_timeout or DEFAULT_LAMBDA_TIMEOUT
            if entry.get("manage_iam_role", True):
                raise AssertionError(f"{name}: the fake deploys only with the stack's roles")
            settings = {
                "Role": entry["iam_role_arn"],
                "Handler": resource["Properties"]["Handler"],
                "Runtime": "python3.11",
                "MemorySize": int(size),
                "Timeout": int(timeout),
                "Environment": {"Variables": variables},
            }
            try:
                arn = lambda_.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
                lambda_.update_function_code(FunctionName=function, ZipFile=archive.getvalue())
                lambda_.update_function_configuration(FunctionName=function, **settings)
            except lambda_.exceptions.ResourceNotFoundException:
                arn = lambda_.create_function(
                    FunctionName=function, Code={"ZipFile": archive.getvalue()}, **settings
                )["FunctionArn"]
            if "reserved_concurrency" in entry:
                lambda_.put_function_concurrency(
                    FunctionName=function,
                    ReservedConcurrentExecutions=int(entry["reserved_concurrency"]),
                )
            resources.append({"name": name, "resource_type": "lambda_function", "lambda_arn": arn})
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] not in ("DynamoDB", "SQS"):
                    continue
                source = variables[SOURCE_VARIABLES[logical]]
                key = f"{name}-event-source"
                batch = int(event["Properties"].get("BatchSize", 1))
                if key in recorded:
                    uuid = recorded[key]["event_uuid"]
                    lambda_.update_event_source_mapping(UUID=uuid, BatchSize=batch)
                else:
                    extra = {"StartingPosition": "LATEST"} if event["Type"] == "DynamoDB" else {}
                    uuid = lambda_.create_event_source_mapping(
                        EventSourceArn=source, FunctionName=arn, BatchSize=batch, **extra
                    )["UUID"]
                resources.append({"name": key, "resource_type": "event", "event_uuid": uuid})
        apigateway = self.session.client("apigateway")
        api = recorded.get("rest_api", {}).get("rest_api_id")
        if api is None:
            # Chalice imports its swagger (every route proxied to the API handler); one
            # proxied method stands for it (AWS refuses a deployment of an API without any).
            api = apigateway.create_rest_api(name=app)["id"]
            root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
            apigateway.put_method(
                restApiId=api, resourceId=root, httpMethod="ANY", authorizationType="NONE"
            )
            handler = next(r["lambda_arn"] for r in resources if r["name"] == "api_handler")
            apigateway.put_integration(
                restApiId=api,
                resourceId=root,
                httpMethod="ANY",
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=f"arn:aws:apigateway:ap-northeast-1:lambda:path/2015-03-31/functions/{handler}/invocations",
            )
        apigateway.create_deployment(restApiId=api, stageName="api")
        url = f"https://{api}.execute-api.ap-northeast-1.amazonaws.com/api/"
        resources.append(
            {
                "name": "rest_api",
                "resource_type": "rest_api",
                "rest_api_id": api,
                "rest_api_url": url,
            }
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"resources": resources, "schema_version": "2.0"}))
