from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from chalicelib.routing.plan import Customer, Stage, plan_route
from chalicelib.routing.twiml import ConferenceCallbacks, conference_instruction, enqueue_call
from chalicelib.routing.workflow import workflow_definition
from tests.conftest import make_settings


def test_enqueue_twiml_carries_the_plan_as_task_attributes() -> None:
    customer = Customer("+81312345678", "C1", "さくら食品", "owner", "tokyo")
    plan = plan_route("CA1", "+81312345678", customer, None)
    root = ET.fromstring(enqueue_call(plan, "WW1", 900))
    enqueue = root.find("Enqueue")
    assert enqueue is not None
    assert enqueue.get("workflowSid") == "WW1"
    task = enqueue.find("Task")
    assert task is not None
    assert task.get("timeout") == "900"
    attributes = json.loads(task.text or "")
    assert attributes["customer_name"] == "さくら食品"
    assert attributes["stage"] == Stage.EVERYONE


def test_conference_instruction_is_regional_dual_channel_and_ends_with_the_customer() -> None:
    instruction = conference_instruction(
        caller="+81312345678",
        agent_contact_uri="client:sato",
        region="jp1",
        post_work_activity_sid="WA1",
        ring_seconds=20,
        callbacks=ConferenceCallbacks("https://x/voice", "https://x/conf", "https://x/rec"),
    )
    assert instruction["instruction"] == "conference"
    assert instruction["region"] == "jp1"
    assert instruction["recording_channels"] == "dual"
    assert instruction["conference_record"] == "record-from-start"
    assert instruction["end_conference_on_customer_exit"] is True
    assert instruction["conference_recording_status_callback"] == "https://x/rec"
    assert instruction["post_work_activity_sid"] == "WA1"


def test_transfers_are_routed_before_the_stage_filters_and_never_widen() -> None:
    filters = workflow_definition(make_settings())["task_routing"]["filters"]
    names = [f["filter_friendly_name"] for f in filters]
    assert names.index("transfer_to_agent") < names.index("owner")
    assert names.index("transfer_to_team") < names.index("owner")
    by_name = {f["filter_friendly_name"]: f for f in filters}
    [agent] = by_name["transfer_to_agent"]["targets"]
    [team] = by_name["transfer_to_team"]["targets"]
    assert agent["expression"] == "task.transfer_to_agent == worker.agent_id"
    assert team["expression"] == "task.transfer_to_team == worker.team"
    # A skipped or timed-out last target sends the task on to the default filter (everyone).
    for target in (agent, team):
        assert "skip_if" not in target and "timeout" not in target
