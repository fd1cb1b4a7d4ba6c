"""TaskRouter sees our presence: the stream mirror and the periodic reconciliation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.bootstrap import Container
from chalicelib.presence.domain import AgentState, Presence
from chalicelib.presence.mirror import PresenceMirror, activity_map
from tests.conftest import ENGINES
from tests.data import put_agent, sid
from tests.fakes.twilio_http import RecordingHttpClient
from tests.integration.test_presence_store import image

pytestmark = ENGINES

S = AgentState
WORKSPACE = "WS" + "b" * 32
WORKERS_URL = f"https://taskrouter.twilio.com/v1/Workspaces/{WORKSPACE}/Workers"


def mirror(container: Container) -> PresenceMirror:
    return PresenceMirror(container.twilio, activity_map(container.settings), sleep=lambda _s: None)


def agent(state: AgentState, worker: int = 1, version: int = 1) -> Presence:
    return Presence(
        agent_id=f"agent{worker}",
        team="tokyo",
        state=state,
        version=version,
        worker_sid=sid("WK", worker),
    )


def test_a_change_sets_the_workers_activity(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    report = mirror(container).mirror([(agent(S.AVAILABLE), agent(S.BREAK, version=2))])
    assert report.updated == 1
    [request] = twilio_http.requests
    assert (request.method, request.url) == ("POST", f"{WORKERS_URL}/{sid('WK', 1)}")
    # Break means no calls: an offer still pending is rejected, not left ringing.
    assert request.data == {
        "ActivitySid": container.settings.presence.activity_sid_break,
        "RejectPendingReservations": "true",
    }


def test_available_and_wrap_up_never_reject_a_pending_offer(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    mirror(container).mirror(
        [
            (agent(S.AWAY), agent(S.AVAILABLE, version=2)),
            (agent(S.ON_CALL, worker=2), agent(S.WRAP_UP, worker=2, version=2)),
        ]
    )
    assert [r.data for r in twilio_http.requests] == [
        {"ActivitySid": container.settings.presence.activity_sid_available},
        {"ActivitySid": container.settings.routing.post_work_activity_sid},
    ]


def test_away_chosen_while_ringing_rejects_the_offer(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    mirror(container).mirror([(agent(S.RINGING), agent(S.AWAY, version=2))])
    [request] = twilio_http.requests
    assert request.data == {
        "ActivitySid": container.settings.presence.activity_sid_away,
        "RejectPendingReservations": "true",
    }


def test_only_each_agents_last_state_in_a_batch_is_sent(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    changes = [
        (agent(S.AVAILABLE), agent(S.BREAK, version=2)),
        (agent(S.BREAK, version=2), agent(S.AWAY, version=3)),
        (agent(S.AVAILABLE, worker=2), agent(S.RINGING, worker=2, version=2)),
    ]
    report = mirror(container).mirror(changes)
    assert [(r.url, r.data) for r in twilio_http.requests] == [
        (
            f"{WORKERS_URL}/{sid('WK', 1)}",
            {
                "ActivitySid": container.settings.presence.activity_sid_away,
                "RejectPendingReservations": "true",
            },
        )
    ]
    assert (report.updated, report.skipped) == (1, 1)  # ringing keeps TaskRouter's activity


def test_wrap_up_uses_the_post_work_activity(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    mirror(container).mirror([(agent(S.ON_CALL), agent(S.WRAP_UP, version=2))])
    assert twilio_http.requests[0].data == {
        "ActivitySid": container.settings.routing.post_work_activity_sid
    }


def test_a_failing_update_is_retried_then_left_to_reconciliation(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    twilio_http.fail("POST", "/Workers/", status=503)
    report = mirror(container).mirror([(agent(S.AVAILABLE), agent(S.AWAY, version=2))])
    assert len(twilio_http.calls("POST", "/Workers/")) == 3
    assert (report.updated, report.failed) == (0, 1)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_an_outage_or_a_throttle_is_retried_with_backoff(
    container: Container, twilio_http: RecordingHttpClient, status: int
) -> None:
    waited: list[float] = []
    twilio_http.fail("POST", "/Workers/", status=status)
    mirrored = PresenceMirror(container.twilio, activity_map(container.settings), waited.append)
    report = mirrored.mirror([(agent(S.AVAILABLE), agent(S.AWAY, version=2))])
    assert len(twilio_http.calls("POST", "/Workers/")) == 3
    assert waited == [0.2, 0.8]
    assert (report.updated, report.failed) == (0, 1)


@pytest.mark.parametrize("status", [400, 404])
def test_a_refusal_is_not_retried_and_the_rest_of_the_batch_goes_on(
    container: Container, twilio_http: RecordingHttpClient, status: int
) -> None:
    # A worker TaskRouter does not know (404: the directory is ahead of `ops provision`) gets
    # the same answer every time: one request, no back-off, the next agent is mirrored at once.
    waited: list[float] = []
    unknown = sid("WK", 1)
    twilio_http.fail("POST", f"/Workers/{unknown}", status=status)
    mirrored = PresenceMirror(container.twilio, activity_map(container.settings), waited.append)
    report = mirrored.mirror(
        [
            (agent(S.AVAILABLE, worker=1), agent(S.AWAY, worker=1, version=2)),
            (agent(S.AVAILABLE, worker=2), agent(S.AWAY, worker=2, version=2)),
        ]
    )
    assert len(twilio_http.calls("POST", f"/Workers/{unknown}")) == 1
    assert waited == []
    assert (report.updated, report.failed) == (1, 1)


def workers_page(workers: dict[str, str]) -> dict[str, Any]:
    return {
        "workers": [
            {"sid": worker, "activity_sid": activity, "workspace_sid": WORKSPACE}
            for worker, activity in workers.items()
        ],
        "meta": {"key": "workers", "next_page_url": None, "page": 0, "page_size": 1000},
    }


def test_reconciliation_fixes_drifted_workers_and_counts_them(
    container: Container, twilio_http: RecordingHttpClient, resources: Any
) -> None:
    settings = container.settings
    twilio_http.respond(
        "GET",
        r"/Workers(\?|$)",
        (
            200,
            workers_page(
                {
                    sid("WK", 1): settings.presence.activity_sid_available,  # right
                    sid("WK", 2): settings.presence.activity_sid_available,  # should be break
                    sid(
                        "WK", 3
                    ): settings.presence.activity_sid_offline,  # on a call: not ours to set
                }
            ),
        ),
    )
    now = 1_764_000_000_000
    presences = [
        (agent(S.AVAILABLE, 1), now - 60_000),
        (agent(S.BREAK, 2), now - 60_000),
        (agent(S.ON_CALL, 3), now - 60_000),
        (agent(S.AWAY, 4), now - 60_000),  # no such worker in TaskRouter
    ]
    drift = mirror(container).reconcile(lambda: presences, now)
    assert drift == 1
    [listing] = twilio_http.calls("GET", "/Workers")
    assert listing.url == WORKERS_URL
    assert listing.params == {"PageSize": 1000}
    assert [(r.url, r.data) for r in twilio_http.calls("POST")] == [
        (
            f"{WORKERS_URL}/{sid('WK', 2)}",
            {
                "ActivitySid": settings.presence.activity_sid_break,
                "RejectPendingReservations": "true",
            },
        )
    ]


def test_reconciliation_leaves_fresh_changes_to_the_stream(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    settings = container.settings
    twilio_http.respond(
        "GET",
        r"/Workers",
        (200, workers_page({sid("WK", 1): settings.presence.activity_sid_available})),
    )
    now = 1_764_000_000_000
    drift = mirror(container).reconcile(lambda: [(agent(S.BREAK, 1), now - 2_000)], now)
    assert drift == 0
    assert twilio_http.calls("POST") == []


def test_the_stream_handler_writes_history_and_mirrors(
    container: Container, twilio_http: RecordingHttpClient, resources: Any
) -> None:
    from chalicelib.api.agents import handle_stream_records

    put_agent(resources, container.settings, "agent1")
    before = agent(S.AVAILABLE)
    after = replace(agent(S.BREAK, version=2), reason="manual", since_ms=1_764_000_000_000)
    heartbeat = replace(after, last_seen_ms=1_764_000_010_000)
    handle_stream_records(
        [
            ("MODIFY", image(before), image(after)),
            ("MODIFY", image(after), image(heartbeat)),
        ],
        container,
    )
    history = container.presence_history.for_agent("agent1")
    assert [(h["from"], h["to"]) for h in history] == [("available", "break")]
    assert [r.data for r in twilio_http.calls("POST")] == [
        {
            "ActivitySid": container.settings.presence.activity_sid_break,
            "RejectPendingReservations": "true",
        }
    ]


# --- wrap-up ends: the task is completed at TaskRouter (the web softphone has no TaskRouter SDK)

TASKS_URL = f"https://taskrouter.twilio.com/v1/Workspaces/{WORKSPACE}/Tasks"
TASK = sid("WT", 7)


def wrapping(task_sid: str = TASK, version: int = 2) -> Presence:
    return replace(agent(S.WRAP_UP, version=version), reason="call_ended", wrapped_task=task_sid)


def completions(twilio_http: RecordingHttpClient) -> list[tuple[str, dict[str, Any]]]:
    return [(r.url, r.data) for r in twilio_http.calls("POST", "/Tasks/")]


def test_leaving_wrap_up_completes_its_task_then_sets_the_activity(
    container: Container, twilio_http: RecordingHttpClient, resources: Any
) -> None:
    from chalicelib.api.agents import handle_stream_records

    put_agent(resources, container.settings, "agent1")
    over = replace(agent(S.AVAILABLE, version=3), reason="wrap_up_over", wrapped_task=TASK)
    handle_stream_records([("MODIFY", image(wrapping()), image(over))], container)
    assert [(r.method, r.url, r.data) for r in twilio_http.requests] == [
        (
            "POST",
            f"{TASKS_URL}/{TASK}",
            {"AssignmentStatus": "completed", "Reason": "wrap-up finished"},
        ),
        (
            "POST",
            f"{WORKERS_URL}/{sid('WK', 1)}",
            {"ActivitySid": container.settings.presence.activity_sid_available},
        ),
    ]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (S.AWAY, "manual"),
        (S.BREAK, "manual"),
        (S.OFFLINE, "signed_out"),
        (S.AWAY, "heartbeat_lost"),
    ],
)
def test_any_way_out_of_wrap_up_completes_the_task(
    container: Container, twilio_http: RecordingHttpClient, state: AgentState, reason: str
) -> None:
    left = replace(agent(state, version=3), reason=reason, wrapped_task=TASK)
    report = mirror(container).complete_wrap_ups([(wrapping(), left)])
    assert report.completed == 1
    assert completions(twilio_http) == [
        (f"{TASKS_URL}/{TASK}", {"AssignmentStatus": "completed", "Reason": "wrap-up finished"})
    ]


def test_staying_in_wrap_up_or_never_in_it_completes_nothing(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    heartbeat = replace(wrapping(), last_seen_ms=1_764_000_010_000)
    ended_call = wrapping(version=2)
    report = mirror(container).complete_wrap_ups(
        [
            (wrapping(), heartbeat),  # still wrapping up the same task
            (agent(S.ON_CALL), ended_call),  # wrap-up begins
            (agent(S.AVAILABLE, worker=2), agent(S.BREAK, worker=2, version=2)),
        ]
    )
    assert report == type(report)()
    assert completions(twilio_http) == []


def test_a_new_call_end_during_wrap_up_completes_the_earlier_task(
    container: Container, twilio_http: RecordingHttpClient, resources: Any
) -> None:
    from chalicelib.api.agents import handle_stream_records

    put_agent(resources, container.settings, "agent1")
    handle_stream_records(
        [("MODIFY", image(wrapping(TASK)), image(wrapping(sid("WT", 8), version=3)))],
        container,
    )
    assert [r.url for r in twilio_http.calls("POST")] == [f"{TASKS_URL}/{TASK}"]


def test_duplicate_stream_records_complete_the_task_once_per_batch_and_retries_are_harmless(
    container: Container, twilio_http: RecordingHttpClient, resources: Any
) -> None:
    from chalicelib.api.agents import handle_stream_records

    put_agent(resources, container.settings, "agent1")
    over = replace(agent(S.AVAILABLE, version=3), reason="wrap_up_over", wrapped_task=TASK)
    record = ("MODIFY", image(wrapping()), image(over))
    handle_stream_records([record, record], container)
    assert len(completions(twilio_http)) == 1
    # Lambda retries the batch: Twilio now refuses, the task being completed already.
    twilio_http.respond(
        "POST",
        rf"/Tasks/{TASK}$",
        (400, {"code": 20001, "message": "Task is not assigned or wrapping", "status": 400}),
    )
    handle_stream_records([record], container)
    assert len(completions(twilio_http)) == 2


@pytest.mark.parametrize("status", [400, 404])
def test_a_task_that_already_ended_is_counted_and_not_retried(
    container: Container, twilio_http: RecordingHttpClient, status: int
) -> None:
    twilio_http.respond(
        "POST", r"/Tasks/", (status, {"code": 20001, "message": "gone", "status": status})
    )
    left = replace(agent(S.AVAILABLE, version=3), reason="manual", wrapped_task=TASK)
    report = mirror(container).complete_wrap_ups([(wrapping(), left)])
    assert (report.completed, report.already_ended, report.failed) == (0, 1, 0)
    assert len(completions(twilio_http)) == 1


def test_a_failing_completion_is_retried_a_few_times_and_never_raises(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    twilio_http.fail("POST", r"/Tasks/", status=503)
    left = replace(agent(S.AVAILABLE, version=3), reason="manual", wrapped_task=TASK)
    report = mirror(container).complete_wrap_ups([(wrapping(), left)])
    assert (report.completed, report.already_ended, report.failed) == (0, 0, 1)
    assert len(completions(twilio_http)) == 3


def tasks_page(tasks: dict[str, str]) -> dict[str, Any]:
    """A List Tasks answer: task sid -> date_updated (ISO 8601, as TaskRouter writes it)."""
    return {
        "tasks": [
            {"sid": task, "assignment_status": "wrapping", "date_updated": updated}
            for task, updated in tasks.items()
        ],
        "meta": {"key": "tasks", "next_page_url": None, "page": 0, "page_size": 1000},
    }


def test_reconciliation_completes_tasks_left_wrapping_by_nobody(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    now = 1_764_000_000_000  # 2025-11-24 16:00:00 UTC
    twilio_http.respond(
        "GET",
        r"/Tasks(\?|$)",
        (
            200,
            tasks_page(
                {
                    sid("WT", 1): "2025-11-24T15:50:00Z",  # agent1 is wrapping it
                    sid("WT", 2): "2025-11-24T15:50:00Z",  # nobody: stale
                    sid("WT", 3): "2025-11-24T15:59:30Z",  # nobody, but just now
                    sid("WT", 4): "yesterday",  # no time we can read: left alone
                }
            ),
        ),
    )
    presences = [
        (replace(agent(S.WRAP_UP, 1), wrapped_task=sid("WT", 1)), now - 600_000),
        (agent(S.AVAILABLE, 2), now - 600_000),
    ]
    assert mirror(container).complete_stale_wrap_ups(presences, now) == 1
    [listing] = twilio_http.calls("GET", "/Tasks")
    assert listing.params == {"AssignmentStatus": ["wrapping"], "PageSize": 1000}
    [completion] = twilio_http.calls("POST", "/Tasks/")
    assert completion.url.endswith(sid("WT", 2))
    assert completion.data == {"AssignmentStatus": "completed", "Reason": "wrap-up reconciled"}


def test_a_failing_task_listing_leaves_stale_wrap_ups_to_the_next_run(
    container: Container, twilio_http: RecordingHttpClient
) -> None:
    twilio_http.fail("GET", r"/Tasks(\?|$)", status=503)
    assert mirror(container).complete_stale_wrap_ups([], 1_764_000_000_000) == 0
