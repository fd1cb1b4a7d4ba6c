"""moto's server for `make run`, with the escalation timeline running for real.

`moto_server` alone would take the state machine and start executions, but never run them, and
its Lambda (without Docker) answers every `Invoke` with a canned reply. This is the same server
with state machines executing (moto's `execute_state_machine`) and the Lambda `Invoke` of the
escalation steps' functions answered by our own handlers (ops/escalation.py, `LocalSteps`), in
this process. So every waiting call on the local stack has one execution, named after its task,
whose steps really read and write the task at Twilio (or the stand-in) and the tables on moto.

The steps run with this process's environment: `ops local` gives it the one `chalice local`
gets (tables, AWS endpoint = this server, Twilio's base URL, public base URL). Their logs go to
this process's output (var/moto.log).

    python -m ops.moto_server --port 5000
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from ops.escalation import LocalSteps
from ops.standin.comprehend import play_batch_detect_sentiment

READY = "moto server ready"


def execute_state_machines() -> None:
    """What `mock_aws(config={"stepfunctions": {"execute_state_machine": True}})` and the
    server's `POST /moto-api/config` set: executions run their states. Set before the server
    answers, so the state machine is created in the backend that runs it (moto keeps the two
    apart)."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}


def route_lambda_invokes(steps: LocalSteps) -> Callable[[], None]:
    """Answer moto's Lambda `Invoke` of our steps' functions with `steps`; any other function
    stays moto's own (a function that does not exist is still refused). Returns the undo."""
    from moto.awslambda.models import LambdaBackend

    moto_invoke = LambdaBackend.invoke

    def invoke(
        self: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> str | bytes | None:
        invocation_type = headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "RequestResponse":  # how Step Functions invokes a Lambda task
            payload = steps.invoke(function_name, body, response_headers)
            if payload is not None:
                return payload
        return moto_invoke(self, function_name, qualifier, body, headers, response_headers)

    # moto's backends are built per account and region on first use: the seam is the class.
    setattr(LambdaBackend, "invoke", invoke)  # noqa: B010 - assigning a method to the class

    def restore() -> None:
        setattr(LambdaBackend, "invoke", moto_invoke)  # noqa: B010

    return restore


def serve(host: str, port: int, stage: str, region: str) -> None:
    """Run until SIGINT or SIGTERM."""
    from moto.server import ThreadedMotoServer

    from app import app

    # moto's state machine interpreter reaches Lambda through this server at localhost:MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    execute_state_machines()
    play_batch_detect_sentiment()  # moto has none; live transcripts score with it
    route_lambda_invokes(LocalSteps.for_app(app, stage, region))
    # Cognito's sign-in as strict as Cognito's: ExplicitAuthFlows enforced, SRP passwords checked.
    from ops.standin.strict_cognito import install as strict_cognito

    strict_cognito()
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    print(f"{READY} on http://{host}:{port}: state machines execute, escalation steps run here")
    sys.stdout.flush()
    stopping.wait()
    server.stop()


def main(argv: list[str] | None = None) -> int:
    from ops.stage import stage_environment

    parser = argparse.ArgumentParser(prog="python -m ops.moto_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    local = stage_environment("local")
    serve(
        args.host,
        args.port,
        os.environ.get("STAGE", local["STAGE"]),
        os.environ.get("AWS_DEFAULT_REGION", local["AWS_DEFAULT_REGION"]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
