"""Builds the real adapters, lazily and once per cold start; tests swap in their own here.

Nothing here runs at import time: moto must be active before any boto3 client exists, and a
Lambda should only pay for the clients the invoked route uses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twilio.http import HttpClient

    from chalicelib.conversations.backfill import TaskRouterEventBackfill
    from chalicelib.conversations.facts import ConversationLedger
    from chalicelib.conversations.jobs import DailyExport, KpiFeed
    from chalicelib.conversations.pricing import PriceReconciler
    from chalicelib.conversations.store import ConversationTable, EventStore
    from chalicelib.escalation.business_hours import BusinessCalendar
    from chalicelib.escalation.fallback import Fallback
    from chalicelib.escalation.followups import FollowUpInbox
    from chalicelib.escalation.steps import EscalationSteps
    from chalicelib.escalation.timelines import EscalationTimelines
    from chalicelib.platform.settings import Settings, TwilioCredentials
    from chalicelib.platform.signing_keys import JwksKeys
    from chalicelib.platform.staff_mfa import StaffMfa
    from chalicelib.platform.work_queue import WorkQueue
    from chalicelib.presence.board import BoardCache
    from chalicelib.presence.events import PresenceEvents
    from chalicelib.presence.mirror import PresenceMirror
    from chalicelib.presence.service import PresenceService
    from chalicelib.presence.store import PresenceHistory, PresenceStore
    from chalicelib.recordings.archive import RecordingArchive
    from chalicelib.recordings.pipeline import RecordingPipeline
    from chalicelib.recordings.reconcile import RecordingReconciler
    from chalicelib.recordings.store import RecordingStore
    from chalicelib.recordings.transcriber import Transcriber
    from chalicelib.routing.store import AgentDirectory, CustomerDirectory, PresenceReader
    from chalicelib.routing.waiting import QueueWait
    from chalicelib.softphone.outbound import OutboundCalls
    from chalicelib.softphone.outbound_policy import OutboundScreen
    from chalicelib.supervision.audit import AuditTrail
    from chalicelib.supervision.floor import FloorCache
    from chalicelib.supervision.monitor import Monitoring
    from chalicelib.supervision.reports import Reports
    from chalicelib.supervision.store import RollupBucket
    from chalicelib.telephony.rest import TwilioGateway
    from chalicelib.transcripts.comprehend import ComprehendSentiment
    from chalicelib.transcripts.live import LiveTranscripts, SentimentScorer
    from chalicelib.transcripts.store import TranscriptStore


class Container:
    def __init__(
        self,
        settings: Settings | None = None,
        boto_session: Any | None = None,
        twilio_http_client: HttpClient | None = None,
    ) -> None:
        self._settings = settings
        self._boto_session = boto_session
        self._twilio_http_client = twilio_http_client

    @cached_property
    def settings(self) -> Settings:
        from chalicelib.platform.settings import get_settings

        return self._settings or get_settings()

    @cached_property
    def boto_session(self) -> Any:
        if self._boto_session is not None:
            return self._boto_session
        import boto3

        return boto3.session.Session(region_name=self.settings.aws_region)

    @cached_property
    def dynamodb(self) -> Any:
        from botocore.config import Config

        timeout = self.settings.routing.dynamodb_timeout_seconds
        # Short timeouts and one retry: the caller is waiting inside Twilio's 15 s budget, and a
        # slow table must turn into a degraded route, not a dead call.
        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        return self.boto_session.resource("dynamodb", config=config)

    @cached_property
    def records_dynamodb(self) -> Any:
        from botocore.config import Config

        # The call's record (its events, the conversation, the recording's state) is written
        # from status callbacks, which Twilio does not retry: nobody waits on them, so a
        # throttled write is retried longer here (5 attempts, backoff) instead of being lost.
        config = Config(
            connect_timeout=2, read_timeout=3, retries={"max_attempts": 4, "mode": "standard"}
        )
        return self.boto_session.resource("dynamodb", config=config)

    @cached_property
    def customers(self) -> CustomerDirectory:
        from chalicelib.routing.store import CustomerDirectory

        return CustomerDirectory(self.dynamodb.Table(self.settings.routing.customers_table))

    @cached_property
    def agents(self) -> AgentDirectory:
        from chalicelib.routing.store import AgentDirectory

        return AgentDirectory(self.dynamodb.Table(self.settings.routing.agents_table))

    @cached_property
    def presence_reader(self) -> PresenceReader:
        from chalicelib.routing.store import PresenceReader

        return PresenceReader(self.dynamodb.Table(self.settings.presence.presence_table))

    @cached_property
    def signing_keys(self) -> JwksKeys:
        from chalicelib.platform.signing_keys import JwksKeys

        return JwksKeys(self.settings.jwks_url)

    @cached_property
    def staff_mfa(self) -> StaffMfa:
        from botocore.config import Config

        from chalicelib.platform.staff_mfa import StaffMfa

        # Short: a supervisor's request waits on it (a failure is a 503 to retry, reps never
        # ask it).
        config = Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 2})
        auth = self.settings.auth
        return StaffMfa(
            self.boto_session.client("cognito-idp", config=config),
            auth.cognito_user_pool_id,
            auth.supervisor_mfa_cache_seconds,
        )

    @cached_property
    def twilio_credentials(self) -> TwilioCredentials:
        from chalicelib.platform.settings import load_twilio_credentials

        return load_twilio_credentials(self.settings)

    @cached_property
    def twilio(self) -> TwilioGateway:
        from chalicelib.telephony.rest import TwilioGateway, rebased_http_client

        http_client = self._twilio_http_client
        if http_client is None and self.settings.telephony.twilio_api_base_url:
            http_client = rebased_http_client(self.settings.telephony.twilio_api_base_url)
        return TwilioGateway(
            self.twilio_credentials,
            self.settings.telephony.twilio_workspace_sid,
            http_client=http_client,
        )

    # --- recordings (issue 6) ---
    @cached_property
    def recording_store(self) -> RecordingStore:
        from chalicelib.recordings.store import RecordingStore

        return RecordingStore(
            self.records_dynamodb.Table(self.settings.recordings.recordings_table),
            self.settings.recordings.recording_retention_days,
        )

    @cached_property
    def recording_archive(self) -> RecordingArchive:
        from botocore.config import Config

        from chalicelib.recordings.archive import RecordingArchive

        s = self.settings
        # SigV4: presigned links to SSE-KMS objects are refused with any other signature.
        client = self.boto_session.client("s3", config=Config(signature_version="s3v4"))
        return RecordingArchive(
            client, s.recordings.recordings_bucket, s.recordings.recordings_kms_key_id
        )

    @cached_property
    def recording_queue(self) -> WorkQueue:
        from chalicelib.platform.work_queue import WorkQueue

        return WorkQueue(self.boto_session.client("sqs"), self.settings.recordings.recordings_queue)

    @cached_property
    def transcriber(self) -> Transcriber:
        from chalicelib.recordings.transcriber import Transcriber

        s = self.settings
        return Transcriber(
            self.boto_session.client("transcribe"),
            s.recordings.recordings_bucket,
            s.recordings.recordings_kms_key_id,
        )

    @cached_property
    def recordings(self) -> RecordingPipeline:
        from chalicelib.recordings.pipeline import RecordingPipeline

        return RecordingPipeline(
            self.recording_store,
            self.recording_queue,
            self.recording_archive,
            self.transcriber,
            self.twilio,
            self.conversation_events,
            self.ledger,
            self.settings.recordings,
            lambda: self.clock(),
        )

    @cached_property
    def recording_reconciler(self) -> RecordingReconciler:
        from chalicelib.recordings.reconcile import RecentCalls, RecordingReconciler

        s = self.settings
        return RecordingReconciler(
            RecentCalls(
                self.records_dynamodb.Table(s.conversations.conversations_table),
                s.conversations.report_timezone,
            ),
            self.recording_store,
            self.conversation_events,
            self.ledger,
            self.recordings,
            self.twilio,
            s.recordings,
        )

    @cached_property
    def conversation_events(self) -> EventStore:
        from chalicelib.conversations.store import EventStore

        s = self.settings
        return EventStore(
            self.records_dynamodb.Table(s.conversations.conversation_events_table),
            s.conversations.conversation_event_retention_days,
        )

    @cached_property
    def conversations(self) -> ConversationTable:
        from chalicelib.conversations.store import ConversationTable

        return ConversationTable(
            self.records_dynamodb.Table(self.settings.conversations.conversations_table),
            self.settings.conversations.conversation_record_retention_days,
        )

    @cached_property
    def ledger(self) -> ConversationLedger:
        from chalicelib.conversations.facts import ConversationLedger, policy_from

        s = self.settings
        return ConversationLedger(
            self.conversation_events,
            self.conversations,
            self.customers,
            lambda: self.clock(),
            policy_from(s.conversations),
            rebuild_inline=s.conversations.conversation_rebuild_inline,
        )

    @cached_property
    def kpi_feed(self) -> KpiFeed:
        from chalicelib.conversations.jobs import KpiFeed

        s = self.settings
        # Cached: the feed's cache lives as long as the Lambda container.
        return KpiFeed(
            self.conversations,
            s.conversations.report_timezone,
            s.conversations.service_level_seconds * 1000,
            s.conversations.kpi_cache_seconds,
        )

    @cached_property
    def conversation_export(self) -> DailyExport:
        from chalicelib.conversations.jobs import DailyExport
        from chalicelib.supervision.reports import DayRollupWriter

        s = self.settings
        return DailyExport(
            self.conversations,
            self.boto_session.client("s3"),
            s.conversations.analytics_bucket,
            s.conversations.report_timezone,
            DayRollupWriter(
                self.report_rollups,
                s.conversations.report_timezone,
                s.conversations.service_level_seconds * 1000,
            ),
        )

    @cached_property
    def price_reconciler(self) -> PriceReconciler:
        from chalicelib.conversations.pricing import PriceReconciler, limits_from

        return PriceReconciler(
            self.twilio,
            self.conversation_events,
            self.conversations,
            self.ledger,
            limits_from(self.settings.conversations),
        )

    @cached_property
    def taskrouter_event_backfill(self) -> TaskRouterEventBackfill:
        from chalicelib.conversations.backfill import TaskRouterEventBackfill

        return TaskRouterEventBackfill(
            self.twilio, self.ledger, self.conversation_events, lambda: self.clock()
        )

    @cached_property
    def escalation_timelines(self) -> EscalationTimelines:
        from botocore.config import Config

        from chalicelib.escalation.timelines import EscalationTimelines

        # Called from the TaskRouter event webhook: fail fast, the workflow backstop covers us.
        config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2})
        client = self.boto_session.client("stepfunctions", config=config)
        return EscalationTimelines(client, self.settings.escalation.escalation_state_machine_arn)

    @cached_property
    def escalation_steps(self) -> EscalationSteps:
        from chalicelib.escalation.steps import EscalationSteps, timeouts
        from chalicelib.telephony import webhooks

        s = self.settings
        # No state machine (a stage without one): the workflow's backstop timeouts alone widen.
        timelines = self.escalation_timelines if s.escalation.escalation_state_machine_arn else None
        return EscalationSteps(
            timelines,
            self.twilio,
            self.presence_reader,
            self.ledger,
            timeouts(s),
            s.url(webhooks.FALLBACK),
            lambda: self.clock(),
        )

    @cached_property
    def calendar(self) -> BusinessCalendar:
        from chalicelib.escalation.business_hours import load_calendar

        return load_calendar(self.settings.escalation.business_hours)

    @cached_property
    def fallback(self) -> Fallback:
        from chalicelib.escalation.fallback import Fallback, settings_from
        from chalicelib.telephony.prompts import load_prompts

        s = self.settings
        return Fallback(
            self.twilio,
            self.customers,
            self.ledger,
            load_prompts(s.escalation.prompt_language, s.escalation.prompts),
            settings_from(s),
            lambda: self.clock(),
        )

    @cached_property
    def follow_up_inbox(self) -> FollowUpInbox:
        from chalicelib.escalation.followups import FollowUpInbox, settings_from

        return FollowUpInbox(
            self.conversations, self.recordings, self.ledger, settings_from(self.settings)
        )

    @cached_property
    def queue_wait(self) -> QueueWait:
        from chalicelib.routing.waiting import QueueWait, settings_from
        from chalicelib.telephony.prompts import load_prompts

        s = self.settings
        return QueueWait(
            self.twilio,
            load_prompts(s.escalation.prompt_language, s.escalation.prompts),
            settings_from(s),
        )

    @cached_property
    def clock(self) -> Callable[[], int]:
        """Epoch milliseconds; tests replace it to move time."""
        from chalicelib.presence.store import wall_clock_ms

        return wall_clock_ms

    def now(self) -> datetime:
        """The clock as an aware UTC datetime, for records stamped with a date."""
        return datetime.fromtimestamp(self.clock() / 1000, UTC)

    @cached_property
    def presence_store(self) -> PresenceStore:
        from chalicelib.presence.store import PresenceStore

        table = self.dynamodb.Table(self.settings.presence.presence_table)
        return PresenceStore(table, clock=lambda: self.clock())

    @cached_property
    def presence(self) -> PresenceService:
        from chalicelib.presence.service import PresenceService, timers_from

        timers = timers_from(self.settings.presence)
        return PresenceService(self.presence_store, self.agents, timers, lambda: self.clock())

    @cached_property
    def presence_history(self) -> PresenceHistory:
        from chalicelib.presence.store import PresenceHistory

        table = self.dynamodb.Table(self.settings.presence.presence_history_table)
        return PresenceHistory(table, self.settings.presence.presence_history_retention_days)

    @cached_property
    def presence_board(self) -> BoardCache:
        from botocore.config import Config

        from chalicelib.presence.board import SCAN_TIMEOUT_SECONDS, BoardCache, timer_due
        from chalicelib.presence.store import PresenceStore

        # The board's Scan is off Twilio's call path: it gets its own, longer read timeout.
        config = Config(read_timeout=SCAN_TIMEOUT_SECONDS, retries={"max_attempts": 2})
        table = self.boto_session.resource("dynamodb", config=config).Table(
            self.settings.presence.presence_table
        )
        service = self.presence
        return BoardCache(
            PresenceStore(table, clock=lambda: self.clock()),
            settle=service.settle,
            effective=service.effective,
            is_due=timer_due(service.timers),
            refresh_ms=int(self.settings.presence.presence_board_refresh_seconds * 1000),
            clock=lambda: self.clock(),
        )

    @cached_property
    def presence_mirror(self) -> PresenceMirror:
        from chalicelib.presence.mirror import PresenceMirror, activity_map, outbound_activity

        return PresenceMirror(
            self.twilio, activity_map(self.settings), outbound=outbound_activity(self.settings)
        )

    @cached_property
    def presence_events(self) -> PresenceEvents:
        from chalicelib.presence.events import PresenceEvents

        # Cached: its worker sid -> agent id index lives as long as the Lambda container.
        return PresenceEvents(self.agents, self.presence, lambda: self.clock())

    @cached_property
    def outbound_calls(self) -> OutboundCalls:
        from chalicelib.presence.mirror import outbound_activity
        from chalicelib.softphone.outbound import OutboundCalls

        return OutboundCalls(
            self.presence,
            self.twilio,
            outbound_activity(self.settings),
            self.ledger,
            lambda: self.clock(),
        )

    # --- outbound guard rails and caller ID (issue 17) ---
    @cached_property
    def outbound_screen(self) -> OutboundScreen:
        from chalicelib.softphone.dial_rules import DialPolicy
        from chalicelib.softphone.outbound_policy import OutboundScreen
        from chalicelib.softphone.store import DoNotCallTable

        s = self.settings
        return OutboundScreen(
            DoNotCallTable(self.dynamodb.Table(s.softphone.do_not_call_table)),
            DialPolicy.of(s.softphone.outbound_allowed_countries, s.telephony.default_country),
            self.agents,
            s.telephony.company_number,
        )

    # --- supervisors (issue 19) ---
    @cached_property
    def audit(self) -> AuditTrail:
        from chalicelib.supervision.audit import AuditTrail
        from chalicelib.supervision.store import AuditTable

        s = self.settings
        table = self.records_dynamodb.Table(s.supervision.audit_table)
        return AuditTrail(
            AuditTable(table, s.supervision.audit_retention_days),
            s.conversations.report_timezone,
            lambda: self.clock(),
        )

    @cached_property
    def monitoring(self) -> Monitoring:
        from chalicelib.supervision.monitor import Monitoring

        return Monitoring(
            self.conversation_events,
            self.twilio,
            self.ledger,
            self.settings.telephony.company_number,
            lambda: self.clock(),
        )

    @cached_property
    def supervisor_floor(self) -> FloorCache:
        from chalicelib.supervision.floor import FloorCache, Thresholds

        s = self.settings.supervision
        # Cached: the floor's snapshot lives as long as the Lambda container.
        return FloorCache(
            self.conversations,
            self.presence_board.snapshot,
            lambda now: self.kpi_feed.today_kpis(now).get("by_team", {}),
            Thresholds(
                s.floor_longest_wait_alert_seconds,
                s.floor_service_level_alert,
                s.floor_abandonment_alert,
            ),
            s.floor_live_hours * 3_600_000,
            int(s.floor_refresh_seconds * 1000),
            lambda: self.clock(),
        )

    @cached_property
    def report_rollups(self) -> RollupBucket:
        from chalicelib.supervision.store import RollupBucket

        return RollupBucket(
            self.boto_session.client("s3"), self.settings.conversations.analytics_bucket
        )

    @cached_property
    def reports(self) -> Reports:
        from zoneinfo import ZoneInfo

        from chalicelib.supervision.reports import Reports

        s = self.settings.conversations
        zone = ZoneInfo(s.report_timezone)
        # Cached: past days' roll-ups live as long as the Lambda container.
        return Reports(
            self.conversations,
            self.report_rollups,
            s.report_timezone,
            s.service_level_seconds * 1000,
            lambda: self.now().astimezone(zone).date(),
        )

    # --- live transcripts (issue 21) ---
    @cached_property
    def transcript_store(self) -> TranscriptStore:
        from chalicelib.transcripts.store import TranscriptStore

        s = self.settings.transcripts
        table = self.records_dynamodb.Table(s.live_transcripts_table)
        return TranscriptStore(table, s.live_transcript_retention_days)

    @cached_property
    def sentiment_detector(self) -> ComprehendSentiment:
        """Tests and the rehearsal assign a ComprehendSentiment over ops/standin/comprehend.py
        here: moto has no BatchDetectSentiment."""
        from chalicelib.transcripts.comprehend import ComprehendSentiment

        return ComprehendSentiment(self.boto_session.client("comprehend"))

    @cached_property
    def sentiment_scorer(self) -> SentimentScorer:
        from chalicelib.transcripts.live import SentimentScorer

        return SentimentScorer(
            self.transcript_store,
            self.sentiment_detector,
            self.settings.transcripts,
            lambda: self.clock(),
            costs=self.conversation_events,
        )

    @cached_property
    def live_transcripts(self) -> LiveTranscripts:
        from chalicelib.platform.signatures import callback_url
        from chalicelib.telephony import webhooks
        from chalicelib.transcripts.live import LiveTranscripts

        s = self.settings
        url = s.url(webhooks.TRANSCRIPTION_REALTIME)
        inline = s.transcripts.live_transcript_score_inline
        return LiveTranscripts(
            self.transcript_store,
            self.twilio,
            self.agents,
            s.transcripts,
            lambda query: callback_url(url, query),
            s.conversations.report_timezone,
            lambda: self.clock(),
            score_inline=(lambda call_sid: self.sentiment_scorer.score_call(call_sid))
            if inline
            else None,
        )


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container()
    return _container


def use(replacement: Container | None) -> None:
    """Install a container (tests), or None to build the real one on next use."""
    global _container
    _container = replacement
