"""Documented defaults of the local stack that are read when the app is imported.

Kept apart from settings.py (which builds pydantic models) so that declaring the routes does
not pay for pydantic: CORS is fixed at import time (chalicelib/api/web.py).
"""

from __future__ import annotations

from collections.abc import Mapping

# The stages that run on a developer's machine or in tests: they accept the published local
# auth token and default WEB_ORIGIN to `make run`'s pages. Never a deployed stack
# (settings.py refuses them inside Lambda).
LOCAL_STAGES = frozenset({"local", "test"})

# Where `make run` serves the softphone pages when WEB_ORIGIN is unset.
LOCAL_WEB_ORIGIN = "http://127.0.0.1:8080"


def running_in_lambda(environ: Mapping[str, str]) -> bool:
    """Whether this process is a Lambda function, by the variables the Lambda runtime sets:
    AWS_LAMBDA_FUNCTION_NAME ("the name of the function") and AWS_EXECUTION_ENV ("the runtime
    identifier, prefixed by AWS_Lambda_ (for example, AWS_Lambda_java8)"), reserved names a
    function's configuration cannot set
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).

    Chalice writes AWS_EXECUTION_ENV itself whenever an app is created, anywhere: "AWS_Lambda
    aws-chalice/<version>" when it was unset (chalice/app.py, `Chalice._initialize`). So only the
    runtime's own prefix, `AWS_Lambda_` with its underscore, counts.
    """
    if environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return True
    return environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_")
