"""TaskRouter as the stand-in plays it: workers and their activities, tasks routed by the app's
workflow, reservations offered to the longest-idle matching worker, and the event callbacks
(`/twilio/taskrouter/events`) and assignment callback (`/twilio/taskrouter/assignment`) the app
is configured with.

The `conference` instruction is carried out by ops/standin/conferences.py and the `call`
instruction by ops/standin/voice.py; this part decides who is offered what and when a
reservation or task moves on.

Modelling choices where Twilio's documentation is silent are marked "assumption:".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.telephony import webhooks
from ops.standin import payloads
from ops.standin.expressions import evaluate, lookup
from ops.standin.resources import ACTIVE_CALL, Reservation, Task, Worker
from ops.standin.shared import Activity, Part, Shared
from ops.standin.truth import Offer

if TYPE_CHECKING:
    from ops.standin.delivery import Delivery
    from ops.standin.ports import ConferencingPort, DiallerPort, VoicePort
    from ops.standin.resources import Conference


class TaskRouter(Part):
    # Bound by ops/standin/engine.py once every part exists (they call one another).
    voice: VoicePort
    conferencing: ConferencingPort
    dialler: DiallerPort | None = None
    # Whether an event callback answered 5xx is delivered again. TaskRouter asks for a 204
    # within 15 s and documents no retry (https://www.twilio.com/docs/taskrouter/api/event/
    # reference), so the rehearsal plays both: True (retried) and False (the event is lost).
    event_retries: bool = True

    def __init__(self, shared: Shared, delivery: Delivery) -> None:
        super().__init__(shared)
        self.delivery = delivery
        self.activities = {a.sid: a for a in shared.account.activities}
        self.workers: dict[str, Worker] = {}
        self.tasks: dict[str, Task] = {}
        self.reservations: dict[str, Reservation] = {}
        # Every event as its callback form, in order: the Events resource reads them back
        # (ops/standin/rest.py; TaskRouter keeps events 30 days, taskrouter/api/event).
        self.event_log: list[dict[str, str]] = []
        self.event_times_ms: list[int] = []  # each logged event's TimestampMs, nondecreasing

    def activity_by_name(self, name: str) -> Activity:
        for activity in self.activities.values():
            if activity.name.lower() == name.lower():
                return activity
        raise KeyError(name)

    # ---- events ----------------------------------------------------------------------------

    def _task_fields(self, task: Task) -> dict[str, str]:
        return {
            "TaskSid": task.sid,
            "TaskAttributes": json.dumps(task.attributes, ensure_ascii=False),
            "TaskAge": str(int(self.now() - task.created)),
            "TaskPriority": str(task.priority),
            "TaskAssignmentStatus": task.status,
            "TaskChannelUniqueName": task.channel,
            "TaskQueueSid": task.queue_sid,
            "TaskQueueName": "Everyone",
            "TaskDateCreated": str(int(task.created)),
            "WorkflowSid": task.workflow_sid,
            "WorkflowName": "contact-center",
        }

    def _worker_fields(self, worker: Worker) -> dict[str, str]:
        activity = self.activities[worker.activity_sid]
        return {
            "WorkerSid": worker.sid,
            "WorkerName": worker.name,
            "WorkerAttributes": json.dumps(worker.attributes, ensure_ascii=False),
            "WorkerActivitySid": activity.sid,
            "WorkerActivityName": activity.name,
        }

    def event(
        self,
        event_type: str,
        resource_type: str,
        resource_sid: str,
        description: str,
        task: Task | None = None,
        worker: Worker | None = None,
        reservation: Reservation | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        data: dict[str, str] = {}
        if task is not None:
            data.update(self._task_fields(task))
        if worker is not None:
            data.update(self._worker_fields(worker))
        if reservation is not None:
            data["ReservationSid"] = reservation.sid
        data.update(extra or {})
        form = payloads.taskrouter_event(
            event_sid=self.sid("EV"),
            event_type=event_type,
            account_sid=self.account.account_sid,
            workspace_sid=self.account.workspace_sid,
            workspace_name=self.account.workspace_name,
            resource_type=resource_type,
            resource_sid=resource_sid,
            timestamp=self.now(),
            description=description,
            data=data,
        )
        self.event_log.append(form)
        self.event_times_ms.append(int(form["TimestampMs"]))
        self._emit("taskrouter_event", form=form)
        url = self.delivery.app_url(webhooks.TASKROUTER_EVENTS)
        if url:
            self.delivery.callback(url, form, retry_5xx=self.event_retries)

    # ---- workers ---------------------------------------------------------------------------

    def add_worker(self, sid: str, name: str, attributes: dict[str, Any], activity: str) -> Worker:
        with self.lock:
            now = self.now()
            worker = Worker(
                sid=sid,
                name=name,
                attributes=attributes,
                activity_sid=self.activity_by_name(activity).sid,
                activity_since=now,
                idle_since=now,
                date_created=now,
            )
            self.workers[sid] = worker
            return worker

    def worker_by_agent(self, agent_id: str) -> Worker:
        for worker in self.workers.values():
            if worker.agent_id == agent_id:
                return worker
        raise KeyError(agent_id)

    def set_activity(self, worker_sid: str, activity_sid: str) -> Worker:
        """A worker's activity changes (TaskRouter JS SDK, REST, or TaskRouter itself)."""
        with self.lock:
            worker = self.workers[worker_sid]
            if activity_sid not in self.activities:
                raise KeyError(activity_sid)
            if worker.activity_sid == activity_sid:
                return worker
            previous = self.activities[worker.activity_sid]
            now = self.now()
            in_previous = now - worker.activity_since
            worker.activity_sid = activity_sid
            worker.activity_since = now
            if self.activities[activity_sid].available:
                worker.idle_since = now
            self.event(
                "worker.activity.update",
                "worker",
                worker.sid,
                f"Worker {worker.name} updated to {self.activities[activity_sid].name} Activity",
                worker=worker,
                extra={
                    "WorkerPreviousActivitySid": previous.sid,
                    "WorkerPreviousActivityName": previous.name,
                    "WorkerTimeInPreviousActivity": str(int(in_previous)),
                    "WorkerTimeInPreviousActivityMs": str(int(in_previous * 1000)),
                },
            )
            self._emit("activity", worker=worker)
        self.clock.after(0, self.assign)
        return worker

    def set_worker_attributes(self, worker_sid: str, attributes: dict[str, Any]) -> Worker:
        with self.lock:
            worker = self.workers[worker_sid]
            worker.attributes = attributes
            self.event(
                "worker.attributes.update",
                "worker",
                worker.sid,
                f"Worker {worker.name} attributes updated",
                worker=worker,
            )
        self.clock.after(0, self.assign)
        return worker

    # ---- tasks and the workflow ------------------------------------------------------------

    def create_task(
        self,
        attributes: dict[str, Any],
        priority: int = 0,
        timeout: int = 86400,
        call_sid: str = "",
        channel: str = "voice",
    ) -> Task:
        with self.lock:
            now = self.now()
            task = Task(
                sid=self.sid("WT"),
                attributes=attributes,
                priority=priority,
                timeout=timeout,
                created=now,
                updated=now,
                workflow_sid=self.account.workflow_sid,
                call_sid=call_sid,
                channel=channel,
            )
            self.tasks[task.sid] = task
            self.event("task.created", "task", task.sid, "Task created", task=task)
            self._route(task)
            self.clock.after(timeout, self._task_ttl, task.sid)
        self.clock.after(0, self.assign)
        return task

    def _route(self, task: Task) -> None:
        """Evaluate the workflow: the first matching filter, from its first target."""
        routing = self.account.workflow["task_routing"]
        task.generation += 1
        task.target_expired = False
        for workflow_filter in routing.get("filters", []):
            if evaluate(workflow_filter["expression"], task.attributes):
                task.filter_name = workflow_filter.get("filter_friendly_name", "")
                task.targets = list(workflow_filter["targets"])
                task.on_default = False
                self._enter_target(task, 0)
                return
        self._enter_default(task)

    def _enter_default(self, task: Task) -> None:
        default = self.account.workflow["task_routing"].get("default_filter")
        task.filter_name = "Default Filter"
        task.targets = [default] if default else []
        task.on_default = True
        if task.targets:
            self._enter_target(task, 0)
        else:
            self.cancel_task(task.sid, "no workflow target")

    def queue_counts(self, target: dict[str, Any]) -> dict[str, int]:
        """skip_if's `workers.*`: "the number of workers in queue" that are available,
        unavailable, or in one activity, scoped to "the Workers in the TaskQueue associated
        with the currently processing routing step", not to those the target's expression or
        known worker selects (https://www.twilio.com/docs/taskrouter/worker-presence)."""
        counts: dict[str, int] = {"available": 0, "unavailable": 0}
        for worker in self.workers.values():
            if not self._in_queue(target["queue"], worker):
                continue
            activity = self.activities[worker.activity_sid]
            counts["available" if activity.available else "unavailable"] += 1
            counts[activity.sid] = counts.get(activity.sid, 0) + 1
        return counts

    def _in_queue(self, queue_sid: str, worker: Worker) -> bool:
        """A TaskQueue's members: the workers its target workers expression selects."""
        queue_expression = self.account.queues.get(queue_sid)
        if queue_expression is None:
            return False  # a queue Twilio does not have (the workflow would be refused)
        return evaluate(queue_expression, {}, worker.attributes, bare="worker")

    def _matches(self, task: Task, target: dict[str, Any], worker: Worker) -> bool:
        if not self._in_queue(target["queue"], worker):
            return False
        known = self._known_worker(task, target)
        if known is not None:
            # Known Agent Routing: the one worker named by the task attribute; the target's
            # expression does not apply (workflow-configuration/known-agent-routing).
            return known == (worker.sid if "known_worker_sid" in target else worker.name)
        expression = target.get("expression")
        return not expression or evaluate(expression, task.attributes, worker.attributes)

    @staticmethod
    def _known_worker(task: Task, target: dict[str, Any]) -> str | None:
        """The worker a known-worker target names (`task.<attribute>`), "" if the task has none."""
        for key in ("known_worker_sid", "known_worker_friendly_name"):
            if key in target:
                path = str(target[key]).removeprefix("task.")
                value = lookup(task.attributes, path)
                return str(value) if value not in (None, "") else ""
        return None

    def _reservable_now(self, task: Task, target: dict[str, Any]) -> bool:
        """Whether a reservation would be created at once for the task on this target."""
        return any(
            w.reservation_sid is None
            and w.task_sid is None
            and w.sid not in task.excluded
            and self.activities[w.activity_sid].available
            and self._matches(task, target, w)
            for w in self.workers.values()
        )

    def _skips(self, task: Task, target: dict[str, Any]) -> bool:
        """skip_if "will only be evaluated if a Task cannot be assigned to a Worker
        immediately" and skips only when it is true (worker-presence)."""
        skip_if = target.get("skip_if")
        if not skip_if or self._reservable_now(task, target):
            return False
        return evaluate(skip_if, task.attributes, workers=self.queue_counts(target))

    def _target_deadline(self, task: Task, index: int) -> float | None:
        """When target `index` times out: "the queue timeout will be based on the current age
        of the Task", the sum of the timeouts of the filter's targets up to this one, not a
        timer started as the task enters it (https://www.twilio.com/docs/taskrouter/task-evaluation)."""
        if "timeout" not in task.targets[index]:
            return None
        total = sum(float(t.get("timeout", 0)) for t in task.targets[: index + 1])
        return task.created + total

    def _enter_target(self, task: Task, index: int) -> None:
        while index < len(task.targets):
            target = task.targets[index]
            if self._skips(task, target):
                self.event(
                    "workflow.skipped",
                    "task",
                    task.sid,
                    f"Task skipped target {index} of {task.filter_name}",
                    task=task,
                    extra={
                        "WorkflowFilterName": task.filter_name,
                        "WorkflowFilterTarget": str(index),
                    },
                )
                index += 1
                continue
            break
        if index >= len(task.targets):
            if not task.on_default:
                self._enter_default(task)
            return
        target = task.targets[index]
        task.target_index = index
        task.target_expired = False
        previous_queue = task.queue_sid
        task.queue_sid = target["queue"]
        self.event(
            "workflow.target-matched",
            "task",
            task.sid,
            f"Task matched target {index} of filter {task.filter_name}",
            task=task,
            extra={
                "WorkflowFilterName": task.filter_name,
                "WorkflowFilterTargetExpression": target.get("expression", ""),
            },
        )
        if previous_queue != task.queue_sid:
            task.queue_entered = self.now()
            self.event("task-queue.entered", "task", task.sid, "Task entered queue", task=task)
        deadline = self._target_deadline(task, index)
        if deadline is not None:
            self.clock.after(
                max(0.0, deadline - self.now()),
                self._target_timeout,
                task.sid,
                task.generation,
                index,
            )

    def _target_timeout(self, task_sid: str, generation: int, index: int) -> None:
        with self.lock:
            task = self.tasks[task_sid]
            if task.generation != generation or task.target_index != index:
                return
            if task.status == "reserved":
                task.target_expired = True  # moves on if this reservation does not end in a match
                return
            if task.status != "pending":
                return
            self.event(
                "workflow.timeout", "task", task.sid, f"Task timed out of target {index}", task=task
            )
            self._enter_target(task, index + 1)
        self.clock.after(0, self.assign)

    def _task_ttl(self, task_sid: str) -> None:
        with self.lock:
            task = self.tasks[task_sid]
            if task.status in {"pending", "reserved"}:
                self.cancel_task(task_sid, "Task TTL Exceeded")

    def update_task_attributes(self, task_sid: str, attributes: dict[str, Any]) -> Task:
        """New attributes: TaskRouter re-evaluates a pending task against the workflow.
        assumption: a task with a pending reservation keeps it and is re-evaluated if it ends."""
        with self.lock:
            task = self.tasks[task_sid]
            task.attributes = attributes
            task.updated = self.now()
            self.event("task.updated", "task", task.sid, "Task attributes updated", task=task)
            if task.status == "pending":
                self._route(task)
            elif task.status == "reserved":
                task.target_expired = True
                task.generation += 1
        self.clock.after(0, self.assign)
        return task

    def cancel_task(self, task_sid: str, reason: str) -> Task:
        """Cancel a pending or reserved task; its call (if still queued) leaves the queue."""
        with self.lock:
            task = self.tasks[task_sid]
            if task.status not in {"pending", "reserved"}:
                return task
            for reservation_sid in task.reservations:
                reservation = self.reservations[reservation_sid]
                if reservation.status == "pending":
                    self._end_reservation(reservation, "canceled")
            task.status = "canceled"
            task.reason = reason
            task.updated = self.now()
            self.event(
                "task.canceled",
                "task",
                task.sid,
                f"Task canceled: {reason}",
                task=task,
                extra={"TaskCanceledReason": reason},
            )
            call = self.voice.calls.get(task.call_sid)
            leave_queue = (
                call is not None and call.status in ACTIVE_CALL and call.task_sid == task.sid
            )
            plan = self.conferencing.transfer_plans.get(task.sid)
            transfer = self.conferencing.transfer_truth(task.sid) if plan else None
        if plan is not None and transfer is not None:
            self.conferencing.transfer_unanswered(plan, transfer)
        if leave_queue and call is not None and reason != "hangup":
            self.clock.after(0, self.voice.leave_queue, call.sid, "leave")
        return task

    def complete_task(self, task_sid: str, reason: str = "") -> Task:
        with self.lock:
            task = self.tasks[task_sid]
            if task.status not in {"assigned", "wrapping"}:
                return task
            if task.status == "assigned" and task.worker_sid in self.workers:
                # Completed while the call goes on (the agent handed it over): the agent's own
                # wrap-up follows, then whatever they meant to do next (a break, going home).
                agent_id = self.workers[task.worker_sid].agent_id
                self.clock.after(
                    self.agents.wrap_up_seconds(agent_id), self._agent_wraps_up, task.sid
                )
            task.status = "completed"
            task.reason = reason
            task.updated = self.now()
            worker = self.workers.get(task.worker_sid)
            for reservation_sid in task.reservations:
                reservation = self.reservations[reservation_sid]
                if reservation.status in {"accepted", "wrapping"}:
                    reservation.status = "completed"
                    self.event(
                        "reservation.completed",
                        "reservation",
                        reservation.sid,
                        "Reservation completed",
                        task=task,
                        worker=worker,
                        reservation=reservation,
                    )
            self.event(
                "task.completed",
                "task",
                task.sid,
                "Task completed",
                task=task,
                worker=worker,
                extra={"TaskCompletedReason": reason},
            )
            if worker is not None and worker.task_sid == task.sid:
                worker.task_sid = None
                worker.idle_since = self.now()
        self.clock.after(0, self.assign)
        return task

    def wrap_task(self, task_sid: str) -> None:
        with self.lock:
            task = self.tasks[task_sid]
            if task.status != "assigned":
                return
            task.status = "wrapping"
            task.updated = self.now()
            worker = self.workers.get(task.worker_sid)
            for reservation_sid in task.reservations:
                reservation = self.reservations[reservation_sid]
                if reservation.status == "accepted":
                    reservation.status = "wrapping"
                    self.event(
                        "reservation.wrapup",
                        "reservation",
                        reservation.sid,
                        "Reservation wrapping",
                        task=task,
                        worker=worker,
                        reservation=reservation,
                    )
            self.event("task.wrapup", "task", task.sid, "Task wrapping", task=task, worker=worker)

    # ---- assignment ------------------------------------------------------------------------

    def _eligible(self, task: Task, worker: Worker) -> bool:
        return (
            worker.reservation_sid is None
            and worker.task_sid is None
            and worker.sid not in task.excluded
            and self.activities[worker.activity_sid].available
            and bool(task.targets)
            and self._matches(task, task.targets[task.target_index], worker)
        )

    def assign(self) -> None:
        """Offer pending tasks (priority, then age) to the longest-idle matching worker."""
        offers: list[Reservation] = []
        with self.lock:
            free = [
                w
                for w in self.workers.values()
                if w.reservation_sid is None
                and w.task_sid is None
                and self.activities[w.activity_sid].available
            ]
            if not free:
                return
            pending = sorted(
                (t for t in self.tasks.values() if t.status == "pending" and t.targets),
                key=lambda t: (-t.priority, t.created),
            )
            for task in pending:
                candidates = [w for w in free if self._eligible(task, w)]
                if not candidates:
                    continue
                worker = min(candidates, key=lambda w: (w.idle_since, w.sid))
                free.remove(worker)
                offers.append(self._reserve(task, worker))
                if not free:
                    break
        for reservation in offers:
            self.clock.after(0, self._assignment_callback, reservation.sid)

    def _reserve(self, task: Task, worker: Worker) -> Reservation:
        reservation = Reservation(
            sid=self.sid("WR"), task_sid=task.sid, worker_sid=worker.sid, created=self.now()
        )
        self.reservations[reservation.sid] = reservation
        task.reservations.append(reservation.sid)
        task.status = "reserved"
        worker.reservation_sid = reservation.sid
        self.event(
            "reservation.created",
            "reservation",
            reservation.sid,
            f"Reservation created for Worker {worker.name}",
            task=task,
            worker=worker,
            reservation=reservation,
        )
        self.clock.after(
            self.account.reservation_timeout, self._reservation_timeout, reservation.sid
        )
        if self.dialler is not None:
            self.dialler.reservation_created(worker.agent_id, reservation.sid)
        truth = self.truth.get(task.call_sid)
        if truth is not None:
            truth.offers.append(Offer(agent_id=worker.agent_id, at=self.now()))
        transfer = self.conferencing.transfer_truth(task.sid)
        if transfer is not None:
            transfer.offered_to.append(worker.agent_id)
        return reservation

    def _assignment_callback(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            task = self.tasks[reservation.task_sid]
            worker = self.workers[reservation.worker_sid]
            form = payloads.assignment_callback(
                account_sid=self.account.account_sid,
                workspace_sid=self.account.workspace_sid,
                workflow_sid=task.workflow_sid,
                task_queue_sid=task.queue_sid,
                task_sid=task.sid,
                reservation_sid=reservation.sid,
                worker_sid=worker.sid,
                task_age=int(self.now() - task.created),
                task_priority=task.priority,
                task_attributes=task.attributes,
                worker_attributes=worker.attributes,
            )
        url = self.delivery.app_url(webhooks.TASKROUTER_ASSIGNMENT)
        if url is None:
            return
        reply = self.delivery.request(url, form)
        if not 200 <= reply.status < 300:
            # The reservation stays pending until it times out (the app could still accept it).
            self.stats.count("AssignmentCallbackFailed")
            return
        try:
            instruction = json.loads(reply.body) if reply.body.strip() else {}
        except json.JSONDecodeError:
            self.stats.count("AssignmentCallbackBadJson")
            return
        self.apply_instruction(reservation_sid, instruction)

    def apply_instruction(self, reservation_sid: str, instruction: dict[str, Any]) -> None:
        kind = str(instruction.get("instruction", ""))
        if kind == "conference":
            self.conferencing.conference_instruction(reservation_sid, instruction)
        elif kind == "call":
            self.voice.call_instruction(reservation_sid, instruction)
        elif kind == "accept":
            self.accept_reservation(reservation_sid)
        elif kind == "reject":
            self.reject_reservation(reservation_sid, instruction.get("activity_sid"))
        elif kind:
            self.stats.count(f"UnsupportedInstruction:{kind}")

    def accept_reservation(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            task = self.tasks[reservation.task_sid]
            worker = self.workers[reservation.worker_sid]
            reservation.status = "accepted"
            task.status = "assigned"
            task.worker_sid = worker.sid
            task.updated = self.now()
            worker.reservation_sid = None
            worker.task_sid = task.sid
            self.event(
                "reservation.accepted",
                "reservation",
                reservation.sid,
                f"Reservation accepted by Worker {worker.name}",
                task=task,
                worker=worker,
                reservation=reservation,
            )

    def reject_reservation(self, reservation_sid: str, activity: str | None = None) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            self._end_reservation(reservation, "rejected")
            if activity:
                self.set_activity(reservation.worker_sid, activity)
        self.clock.after(0, self.assign)

    def _reservation_timeout(self, reservation_sid: str) -> None:
        with self.lock:
            reservation = self.reservations[reservation_sid]
            if reservation.status != "pending":
                return
            self._end_reservation(reservation, "timeout")
            agent_call = self.voice.calls.get(reservation.agent_call_sid)
            if agent_call is not None and agent_call.status in ACTIVE_CALL:
                self.voice.end_call(agent_call, "no-answer")
            if self.account.timeout_activity_sid:
                self.set_activity(reservation.worker_sid, self.account.timeout_activity_sid)
        self.clock.after(0, self.assign)

    def _end_reservation(self, reservation: Reservation, status: str) -> None:
        """A pending reservation ends without a match; the task goes back to pending."""
        task = self.tasks[reservation.task_sid]
        worker = self.workers[reservation.worker_sid]
        reservation.status = status
        worker.reservation_sid = None
        task.excluded.add(worker.sid)
        self.event(
            f"reservation.{status}",
            "reservation",
            reservation.sid,
            f"Reservation {status} for Worker {worker.name}",
            task=task,
            worker=worker,
            reservation=reservation,
        )
        truth = self.truth.get(task.call_sid)
        if truth is not None:
            for offer in reversed(truth.offers):
                if offer.agent_id == worker.agent_id and offer.outcome == "ringing":
                    offer.outcome = "canceled" if status == "canceled" else "missed"
                    break
        if status in {"timeout", "rejected"}:
            self.agents.missed(worker.agent_id, self.now())
        agent_call = self.voice.calls.get(reservation.agent_call_sid)
        if status == "canceled" and agent_call is not None and agent_call.status in ACTIVE_CALL:
            self.voice.end_call(agent_call, "canceled")
        if task.status == "reserved":
            task.status = "pending"
            if task.target_expired:
                self._enter_target(task, task.target_index + 1)

    def leg_rang_out(self, reservation_sid: str) -> None:
        """The agent's leg rang out. assumption: TaskRouter times the reservation out."""
        with self.lock:
            reservation = self.reservations[reservation_sid]
            agent_call = self.voice.calls.get(reservation.agent_call_sid)
            if agent_call is not None and agent_call.status in ACTIVE_CALL:
                self.voice.end_call(agent_call, "no-answer")
            if reservation.status == "pending":
                self._end_reservation(reservation, "timeout")
                if self.account.timeout_activity_sid:
                    self.set_activity(reservation.worker_sid, self.account.timeout_activity_sid)
        self.clock.after(0, self.assign)

    # ---- when the conversation ends --------------------------------------------------------

    def conference_ended(self, conference: Conference) -> None:
        """The task's conference ended: its task wraps up (TaskRouter ties a task answered
        with the `conference` instruction to its conference), and so do transfer tasks the
        app moved on."""
        for transfer_sid in conference.transfer_tasks:
            # A task answered with the `call` instruction is not tied to the conference by
            # TaskRouter: only the app moves it on (its Dial action, requested as the
            # colleague's leg left the conference). Then the colleague wraps up as for any task;
            # a task the app left assigned holds the colleague's capacity, and is counted.
            transfer_task = self.tasks[transfer_sid]
            worker = self.workers.get(transfer_task.worker_sid)
            if transfer_task.status == "wrapping" and worker is not None:
                self.clock.after(
                    self.agents.wrap_up_seconds(worker.agent_id), self._agent_wraps_up, transfer_sid
                )
            elif transfer_task.status == "assigned":
                self.stats.count("TransferTaskLeftAssigned")
        task = self.tasks.get(conference.task_sid)
        if task is not None and task.status == "assigned":
            self.wrap_task(task.sid)
            reservation = next(
                (
                    self.reservations[r]
                    for r in task.reservations
                    if self.reservations[r].status == "wrapping"
                ),
                None,
            )
            post_work = (
                reservation.instruction.get("post_work_activity_sid") if reservation else None
            )
            worker = self.workers.get(task.worker_sid)
            if worker is not None:
                if post_work in self.activities:
                    self.set_activity(worker.sid, str(post_work))
                elif post_work:
                    self.stats.count("InvalidPostWorkActivity")  # Twilio error 40139
                self.clock.after(
                    self.agents.wrap_up_seconds(worker.agent_id), self._agent_wraps_up, task.sid
                )

    def _agent_wraps_up(self, task_sid: str) -> None:
        """The agent ends the wrap-up in the softphone: the task completes (unless the app
        completes tasks), a new activity."""
        with self.lock:
            task = self.tasks[task_sid]
            worker = self.workers.get(task.worker_sid)
            if task.status == "wrapping" and self.agents.completes_tasks():
                self.complete_task(task_sid, "wrap-up finished")
            if worker is None:
                return
            name = self.agents.after_wrap_up(worker.agent_id, self.now())
            if name is not None:
                self.set_activity(worker.sid, self.activity_by_name(name).sid)
