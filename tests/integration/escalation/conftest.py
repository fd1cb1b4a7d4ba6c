"""Fixtures of the escalation timeline tests: moto executing the state machine, steps in-process."""

from tests.integration.escalation.harness import (  # noqa: F401 - pytest fixtures
    aws,
    settings,
    state_machine_arn,
    steps,
)
