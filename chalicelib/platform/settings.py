"""The app's settings, read once per cold start: one small settings object per area, composed
by one root.

Everything the Lambda needs to know about its stage comes from environment variables that
`.chalice/config.json` (or `make run`) sets. Secrets never live there: in a deployed stage the
Twilio credentials come from Secrets Manager through Powertools' cached parameters; on the local
stack from `TWILIO_AUTH_TOKEN`, with a documented default so anyone can sign a request.

Each area reads only its own object (`settings.presence`, `settings.recordings`...), so a use
case names the settings it depends on. The environment variables are the field names in upper
case, as before the split: the field names stay unique across areas, and `Settings.from_values`
takes the flat names and hands each to its area.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chalicelib.platform.local_stage import LOCAL_STAGES, LOCAL_WEB_ORIGIN, running_in_lambda
from chalicelib.platform.versions import parse_version

# Documented in the README: the token the local stack validates signatures with when
# TWILIO_AUTH_TOKEN is unset. It only ever works on the `local` and `test` stages (LOCAL_STAGES),
# which refuse to run inside Lambda (`Settings.from_environment`).
LOCAL_AUTH_TOKEN = "local-auth-token-not-a-secret"  # noqa: S105 - public by design
LOCAL_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
# Documented API key the local stack signs Voice access tokens with (nothing verifies them there).
LOCAL_API_KEY_SID = "SK00000000000000000000000000000000"
LOCAL_API_KEY_SECRET = "local-api-key-secret-not-a-secret"  # noqa: S105 - public by design
# The longest Timeout TaskRouter accepts for a Task (14 days).
TASK_TIMEOUT_MAX = 1_209_600


class ConfigurationError(RuntimeError):
    """The stage is missing configuration it cannot run without."""


class _Section(BaseModel):
    # defer_build: validators are built when settings are first read, not at import (cold start).
    model_config = ConfigDict(defer_build=True)


class TwilioCredentials(_Section):
    account_sid: str
    # Validates webhook signatures (Twilio signs with it); the REST client's too when the stage
    # has no REST key below.
    auth_token: str = Field(min_length=1)
    # A Standard key: signs the softphones' Voice access tokens (a Restricted key cannot:
    # https://www.twilio.com/docs/iam/api-keys/restricted-api-keys).
    api_key_sid: str = ""
    api_key_secret: str = ""
    # A Restricted key for the REST client, allowed only what TwilioGateway calls (docs/deploy.md):
    # Twilio takes the key SID as the Basic auth user and its secret as the password
    # (https://www.twilio.com/docs/iam/api-keys). Empty: the REST client uses the auth token.
    rest_api_key_sid: str = ""
    rest_api_key_secret: str = ""

    @model_validator(mode="after")
    def _rest_key_whole(self) -> TwilioCredentials:
        if bool(self.rest_api_key_sid) != bool(self.rest_api_key_secret):
            raise ValueError("rest_api_key_sid and rest_api_key_secret go together")
        if self.rest_api_key_sid and not self.rest_api_key_sid.startswith("SK"):
            raise ValueError("rest_api_key_sid is an API key SID (SK...)")
        return self

    @property
    def rest_uses_api_key(self) -> bool:
        return bool(self.rest_api_key_sid)

    def rest_auth(self) -> tuple[str, str]:
        """(user, password) for Twilio's REST API: the REST key, else the account's token."""
        if self.rest_uses_api_key:
            return self.rest_api_key_sid, self.rest_api_key_secret
        return self.account_sid, self.auth_token


class TelephonySettings(_Section):
    """The Twilio account and its numbers."""

    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_workspace_sid: str = "WS00000000000000000000000000000000"
    twilio_workflow_sid: str = "WW00000000000000000000000000000000"
    # Name of the Secrets Manager secret holding TwilioCredentials as JSON (deployed stages).
    twilio_secret_name: str = ""
    # Only honoured on local stages; see LOCAL_AUTH_TOKEN.
    twilio_auth_token: str = ""
    # Local runs point the Twilio adapter at a stand-in; empty means api.twilio.com.
    twilio_api_base_url: str = ""
    # The TwiML App the softphone dials out through (its voice URL is /twilio/voice/outbound).
    twilio_twiml_app_sid: str = "AP00000000000000000000000000000000"
    # API key that signs Voice access tokens; only honoured on local stages (deployed stages keep
    # it in the Twilio secret as api_key_sid / api_key_secret). See LOCAL_API_KEY_SID.
    twilio_api_key_sid: str = ""
    twilio_api_key_secret: str = ""
    # The REST client's restricted key; only honoured on local stages (deployed stages keep it in
    # the Twilio secret as rest_api_key_sid / rest_api_key_secret). Empty: the auth token.
    twilio_rest_api_key_sid: str = ""
    twilio_rest_api_key_secret: str = ""
    company_number: str = "+81300000000"
    # How national numbers (03-1234-5678) are read.
    default_country: str = "JP"


class AuthSettings(_Section):
    """Staff sign-in (Cognito)."""

    cognito_user_pool_id: str = ""
    cognito_client_id: str = ""
    # Empty: derived from the pool (and AWS_ENDPOINT_URL on the local stack, where moto serves it).
    cognito_jwks_url: str = ""
    supervisor_group: str = "supervisors"
    # A supervisor whose account has no TOTP MFA enabled is refused supervisor rights (403
    # MfaRequired) until they enrol (docs/hardening.md, "MFA"). True on every stage.
    supervisor_mfa_required: bool = True
    # How long "TOTP enabled" from AdminGetUser is trusted per user per container: the
    # supervisor pages poll every few seconds and must not cost an AdminGetUser each.
    supervisor_mfa_cache_seconds: int = Field(default=300, ge=0, le=3600)


class RoutingSettings(_Section):
    """Who hears a call first, and how TaskRouter carries it out."""

    customers_table: str
    agents_table: str
    conference_region: Literal["us1", "us2", "ie1", "de1", "sg1", "br1", "au1", "jp1"] = "jp1"
    post_work_activity_sid: str = "WA00000000000000000000000000000000"
    # Seconds an agent's browser rings before TaskRouter gives the reservation up.
    agent_ring_seconds: int = Field(default=20, ge=5, le=120)
    # TaskRouter cancels a task after this long (its own default is 24 h, which would leave a
    # caller waiting all day); the call then leaves the queue for the fallback.
    task_timeout_seconds: int = Field(default=1800, ge=60, le=86400)
    # The caller must be in a queue within Twilio's 15 s webhook budget; DynamoDB gets a
    # fraction of it, after which the call goes to everyone (see routing.plan.degraded_plan).
    dynamodb_timeout_seconds: float = Field(default=1.5, gt=0, le=5)
    # TaskRouter workflow backstop timeouts (seconds) per stage: longer than the escalation
    # timeline Step Functions runs, so callers still widen out if it is down.
    backstop_owner_seconds: int = Field(default=60, ge=1)
    backstop_team_seconds: int = Field(default=120, ge=1)
    queue_sid_everyone: str = "WQ00000000000000000000000000000000"
    # Follow-up (voicemail, callback) routing: owner, then team, then everyone.
    followup_owner_seconds: int = Field(default=3600, ge=1)
    followup_team_seconds: int = Field(default=7200, ge=1)
    # What the caller hears before the queue and while in it (issue 18): greetings JSON per
    # company / team / number (chalicelib/routing/greeting.py; empty: the bundled default).
    greetings: str = ""
    # Hold audio the waitUrl plays (an https URL Twilio can fetch); empty: the loop we ship in
    # web/audio/ (served from WEB_ORIGIN). Its length, so announcements come every
    # ~queue_announce_seconds.
    queue_hold_audio_url: str = ""
    queue_hold_audio_seconds: int = Field(default=10, ge=1, le=600)
    queue_announce_seconds: int = Field(default=40, ge=15, le=300)
    # After this long in the queue the caller is offered 1 = callback, 2 = voicemail.
    queue_offer_after_seconds: int = Field(default=60, ge=0, le=86400)


class PresenceSettings(_Section):
    """Agent presence, its history, its timers and its mirror in TaskRouter."""

    presence_table: str
    # History of every presence change (agent, from, to, reason, at), written from the presence
    # table's stream; read for occupancy metrics.
    presence_history_table: str
    presence_history_retention_days: int = Field(default=400, ge=1)
    # The softphone sends a heartbeat every interval; no heartbeat for the timeout -> away.
    presence_heartbeat_interval_seconds: int = Field(default=15, ge=5, le=300)
    presence_heartbeat_timeout_seconds: int = Field(default=45, ge=10, le=3600)
    # A disconnected agent (away, heartbeat lost) is signed out after this long.
    presence_session_expiry_seconds: int = Field(default=8 * 3600, ge=300)
    # After a call, the agent stays in wrap-up this long, then becomes available.
    presence_wrap_up_seconds: int = Field(default=30, ge=0, le=3600)
    # The board's snapshot is rebuilt at most once per this interval per Lambda container.
    presence_board_refresh_seconds: float = Field(default=1.0, ge=0.1, le=60)
    # TaskRouter activities mirroring our states (ringing and on_call leave the activity alone:
    # TaskRouter knows the worker is busy from the reservation). Wrap-up uses the routing
    # settings' post_work_activity_sid, the activity the conference instruction already sets.
    activity_sid_offline: str = "WA00000000000000000000000000000001"
    activity_sid_available: str = "WA00000000000000000000000000000002"
    activity_sid_away: str = "WA00000000000000000000000000000003"
    activity_sid_break: str = "WA00000000000000000000000000000004"
    # A rep on an outbound call (no reservation makes them busy): an unavailable activity.
    activity_sid_outbound: str = "WA00000000000000000000000000000005"


class EscalationSettings(_Section):
    """The escalation timeline, business hours and what callers hear in the fallback."""

    # The escalation state machine (infra/escalation.asl.json); empty: no timeline is started and
    # callers widen out by the workflow backstop alone.
    escalation_state_machine_arn: str = ""
    # Seconds in each stage of the timeline (shorter than the routing backstops).
    escalation_owner_seconds: int = Field(default=20, ge=1, le=3600)
    escalation_team_seconds: int = Field(default=40, ge=1, le=3600)
    escalation_everyone_seconds: int = Field(default=90, ge=1, le=3600)
    # Follow-ups (voicemail, callback) stay queued this long so nobody's message is lost
    # overnight. A Task's Timeout "can be up to a maximum of 2 weeks (1,209,600 seconds)"
    # (https://www.twilio.com/docs/taskrouter/api/task, Create a Task: Timeout).
    followup_task_timeout_seconds: int = Field(default=604800, ge=3600, le=TASK_TIMEOUT_MAX)
    voicemail_max_seconds: int = Field(default=120, ge=10, le=3600)
    # Business hours JSON (see chalicelib/escalation/business_hours.py); empty: the bundled default.
    business_hours: str = ""
    # Prompt language (a key of chalicelib/telephony/prompts.json) and optional replacement
    # prompts JSON.
    prompt_language: str = "ja-JP"
    prompts: str = ""
    # The follow-up inbox (issue 18): how far back it looks, how many it lists, and after how
    # long an open voicemail or callback request shows as overdue on the supervisors' board.
    followup_inbox_days: int = Field(default=14, ge=1, le=90)
    followup_inbox_limit: int = Field(default=50, ge=1, le=200)
    followup_overdue_minutes: int = Field(default=240, ge=5, le=10080)


class ConversationSettings(_Section):
    """Raw call events, conversation records, KPIs, prices and the daily export."""

    conversation_events_table: str
    conversations_table: str
    # Daily Parquet export of conversations (date-partitioned; Athena table in infra/athena).
    analytics_bucket: str
    # Events expire (DynamoDB TTL) after this; records and the S3 export are kept.
    conversation_event_retention_days: int = Field(default=400, ge=30, le=3650)
    # Conversation records expire (DynamoDB TTL) this long after their call started.
    conversation_record_retention_days: int = Field(default=1095, ge=30, le=3650)
    # A caller who hangs up within this many seconds is a short abandon, reported apart.
    short_abandon_seconds: int = Field(default=5, ge=0, le=60)
    # Service level: answered within this many seconds of entering the queue.
    service_level_seconds: int = Field(default=20, ge=1, le=600)
    # Days, hours and weekdays of KPIs and the export are this zone's.
    report_timezone: str = "Asia/Tokyo"
    # Price reconciliation: conversations per run, Twilio requests per second, tries per leg.
    price_batch_size: int = Field(default=200, ge=1, le=5000)
    price_requests_per_second: float = Field(default=5.0, gt=0, le=50)
    price_max_attempts: int = Field(default=3, ge=1, le=10)
    # A leg with no price this long after the call ended is given up on (priced unknown).
    price_give_up_hours: int = Field(default=48, ge=1)
    # Seconds the dashboard's KPI feed is cached per Lambda container.
    kpi_cache_seconds: int = Field(default=15, ge=0, le=300)
    # Records are rebuilt by the events table's stream consumer (`conversation_stream`), off the
    # webhook path. True rebuilds inline on every new event instead: only for `chalice local`
    # (the local stage), which runs no stream consumers. docs/conversations.md, "Cost".
    conversation_rebuild_inline: bool = False


class RecordingSettings(_Section):
    """Where recordings are copied, when Twilio's copy goes, and transcription."""

    recordings_bucket: str
    # Copy state (idempotency), channel map and transcript pointers; see recordings/store.py.
    recordings_table: str
    # The copy queue and its dead-letter queue (names; deployed stages get CloudFormation's).
    recordings_queue: str = "contact-center-recording-copy"
    recordings_dead_letter_queue: str = "contact-center-recording-copy-dlq"
    # Seconds a copy waits after the callback, so TaskRouter's wrap-up event (which links the
    # conference to the conversation) and the join callbacks are in first. SQS allows 0-900.
    recording_copy_delay_seconds: int = Field(default=60, ge=0, le=900)
    # "keep": Twilio keeps its copy too. "delete": deleted once the S3 copy is verified.
    recording_twilio_copy: Literal["keep", "delete"] = "keep"
    # Empty: the bucket's KMS default (aws/s3); else the key id or ARN every object is sealed with.
    recordings_kms_key_id: str = ""
    # Recording items expire (DynamoDB TTL) with the audio: RecordingRetentionDays in the stack.
    recording_retention_days: int = Field(default=365, ge=30, le=3650)
    transcription_enabled: bool = True
    transcription_language: str = "ja-JP"
    # Lifetime of a playback link handed to a browser.
    recording_url_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    # Minutes after a call ended before the reconciliation asks Twilio for a conference's
    # recordings that never called back (only `completed` can be subscribed to; a failed or
    # absent one is silent) and records them copied, lost or missing (recordings/reconcile.py).
    recording_reconcile_after_minutes: int = Field(default=30, ge=5, le=720)


class SoftphoneSettings(_Section):
    """The rep's web client: versions, its origin, tokens and call control."""

    # The API's version and the web client versions it serves (chalicelib/platform/versions.py):
    # pages older than min_client_version get 426, older than latest_client_version a reload
    # banner.
    server_version: str = "1.0.0"
    min_client_version: str = "1.0.0"
    latest_client_version: str = "1.0.0"
    # The origin the softphone pages are served from (CORS), e.g. https://d123.cloudfront.net.
    # chalicelib/api/web.py reads WEB_ORIGIN when routes are declared; see docs/softphone.md.
    web_origin: str = LOCAL_WEB_ORIGIN
    voice_token_ttl_seconds: int = Field(default=3600, ge=300, le=86400)
    # What a held customer hears; empty means Twilio's default hold music.
    hold_music_url: str = ""
    # Seconds a customer's phone rings on a softphone outbound call before we give up.
    outbound_ring_seconds: int = Field(default=30, ge=5, le=600)
    # Seconds a transfer waits for the colleague or team before TaskRouter cancels it (capped
    # by the workflow backstops, so it never widens beyond the named agent or team).
    transfer_timeout_seconds: int = Field(default=45, ge=10, le=600)
    # Outbound guard rails (docs/softphone.md, "Guard rails"): the countries reps may dial, as
    # libphonenumber's region codes, comma-separated ("JP" or "JP,US"), and the do-not-call list.
    outbound_allowed_countries: str = "JP"
    do_not_call_table: str = "contact-center-do-not-call"
    # What came of a call, asked of the rep at every wrap-up (docs/softphone.md, "Wrap-up
    # codes"): comma-separated, in the order the page shows them.
    wrap_up_codes: str = Field(default="商談化,不在,折り返し依頼,対象外", min_length=1)

    @field_validator("server_version", "min_client_version", "latest_client_version")
    @classmethod
    def _is_version(cls, value: str) -> str:
        parse_version(value)  # a bad version must fail the deploy, not every request
        return value


class SupervisionSettings(_Section):
    """Who may read what, the audit trail of reads, and live monitoring."""

    # Every read of a conversation, recording or transcript (who, what, when, from where).
    audit_table: str = "cc-local-audit"
    # Audit entries expire (DynamoDB TTL) after this: the conversation events' retention.
    audit_retention_days: int = Field(default=400, ge=30, le=3650)
    # The floor's snapshot is rebuilt at most once per this interval per Lambda container.
    floor_refresh_seconds: float = Field(default=1.0, ge=0.1, le=60)
    # Live conversations older than this are left off the floor (a call whose end never came).
    floor_live_hours: int = Field(default=4, ge=1, le=24)
    # Alerts: the longest wait, and a team's service level or abandonment so far today.
    floor_longest_wait_alert_seconds: int = Field(default=60, ge=1, le=3600)
    floor_service_level_alert: float = Field(default=0.8, ge=0, le=1)
    floor_abandonment_alert: float = Field(default=0.1, ge=0, le=1)


class TranscriptSettings(_Section):
    """Live transcripts (Twilio Real-Time Transcription) and their sentiment (Comprehend)."""

    # Utterances, per-call summaries (sentiment so far, keyword hits) and start claims.
    live_transcripts_table: str = "cc-local-live-transcripts"
    live_transcript_enabled: bool = True
    # Teams (comma-separated) whose calls are not transcribed live: the switch per team.
    live_transcript_teams_off: str = ""
    # BCP-47 code handed to Twilio; Comprehend gets its two-letter language (ja).
    live_transcript_language: str = "ja-JP"
    # Words that raise an alert when a customer says them (comma-separated).
    live_transcript_keywords: str = "解約,クレーム,上の者"
    # The stream consumer scores utterances off the webhook path. True scores inline after each
    # stored utterance instead: only for stages that run no stream consumers (`chalice local`).
    live_transcript_score_inline: bool = False
    # A call is flagged once its customer's sentiment so far is at least this negative (0..1).
    live_transcript_negative_threshold: float = Field(default=0.5, ge=0, le=1)
    # What callers and reps said expires (DynamoDB TTL) after this: the recordings' retention.
    live_transcript_retention_days: int = Field(default=365, ge=30, le=3650)

    # Cost estimate added to the conversation's cost when its transcription stops
    # (docs/transcripts.md "Cost"): USD per started minute of Real-Time Transcription (set it
    # from Twilio's price list for your account) and per Comprehend unit (100 characters,
    # at least 3 per document; https://aws.amazon.com/comprehend/pricing/).
    live_transcript_usd_per_minute: float = Field(default=0.0, ge=0)
    comprehend_usd_per_unit: float = Field(default=0.0001, ge=0)

    def teams_off(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.live_transcript_teams_off.split(",") if t.strip())

    def keywords(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in self.live_transcript_keywords.split(",") if w.strip())


# Each area's settings, by the root's field name.
AREAS: dict[str, type[_Section]] = {
    "telephony": TelephonySettings,
    "auth": AuthSettings,
    "routing": RoutingSettings,
    "presence": PresenceSettings,
    "escalation": EscalationSettings,
    "conversations": ConversationSettings,
    "recordings": RecordingSettings,
    "softphone": SoftphoneSettings,
    "supervision": SupervisionSettings,
    "transcripts": TranscriptSettings,
}


class Settings(_Section):
    """The stage, and each area's settings."""

    stage: str
    # The URL prefix Twilio calls, used to check signatures. Local stages default to `make run`'s
    # API; deployed stages must say (https://<api-id>.execute-api.<region>.amazonaws.com/api).
    public_base_url: str = ""
    aws_region: str = "ap-northeast-1"
    aws_endpoint_url: str = ""
    # Deployed stages: the SSM Parameter Store path (/contact-center/<stage>) holding the settings
    # that are only known after the stack exists: the public URL and the Twilio sids that
    # `python -m ops provision` writes. Read once per cold start; environment variables win.
    settings_parameter_path: str = ""

    telephony: TelephonySettings
    auth: AuthSettings
    routing: RoutingSettings
    presence: PresenceSettings
    escalation: EscalationSettings
    conversations: ConversationSettings
    recordings: RecordingSettings
    softphone: SoftphoneSettings
    supervision: SupervisionSettings
    transcripts: TranscriptSettings

    @model_validator(mode="after")
    def _stage_is_complete(self) -> Settings:
        if not self.public_base_url:
            if self.stage not in LOCAL_STAGES:
                raise ValueError(f"stage {self.stage!r} needs PUBLIC_BASE_URL")
            self.public_base_url = LOCAL_PUBLIC_BASE_URL
        if self.stage not in LOCAL_STAGES and not self.telephony.twilio_secret_name:
            raise ValueError(
                f"stage {self.stage!r} needs TWILIO_SECRET_NAME: deployed stages read Twilio "
                "credentials from Secrets Manager, never from config.json"
            )
        return self

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES

    @property
    def cognito_issuer(self) -> str:
        pool = self.auth.cognito_user_pool_id
        return f"https://cognito-idp.{self.aws_region}.amazonaws.com/{pool}"

    @property
    def jwks_url(self) -> str:
        if self.auth.cognito_jwks_url:
            return self.auth.cognito_jwks_url
        if self.aws_endpoint_url:
            base = self.aws_endpoint_url.rstrip("/")
            return f"{base}/{self.auth.cognito_user_pool_id}/.well-known/jwks.json"
        return f"{self.cognito_issuer}/.well-known/jwks.json"

    def url(self, path: str) -> str:
        """The public URL of one of our routes, as Twilio must call (and sign) it."""
        return self.public_base_url.rstrip("/") + path

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Every setting's flat name (its environment variable in lower case)."""
        root = {name for name in cls.model_fields if name not in AREAS}
        return frozenset(root.union(*(area.model_fields for area in AREAS.values())))

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from flat names (`presence_table`, `stage`...), each handed to its area."""
        unknown = set(values) - cls.field_names()
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        nested: dict[str, Any] = {
            name: value for name, value in values.items() if name in cls.model_fields
        }
        for area, model in AREAS.items():
            nested[area] = {k: v for k, v in values.items() if k in model.model_fields}
        return cls.model_validate(nested)

    def flat(self) -> dict[str, Any]:
        """The inverse of `from_values`: every setting under its flat name."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        for area in AREAS:
            values.pop(area)
            values.update(getattr(self, area).model_dump())
        return values

    def with_values(self, **changes: Any) -> Settings:
        """A copy with some settings changed (flat names), validated like the original."""
        return type(self).from_values({**self.flat(), **changes})

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        fields = {name: env[name.upper()] for name in cls.field_names() if name.upper() in env}
        if fields.get("stage") in LOCAL_STAGES and running_in_lambda(env):
            # A stack deployed with Stage=test would otherwise accept webhooks signed with the
            # published LOCAL_AUTH_TOKEN: "local" must mean "not in the cloud", not only a name.
            raise ConfigurationError(
                f"stage {fields['stage']!r} is a local stage and refuses to run inside Lambda "
                "(AWS_LAMBDA_FUNCTION_NAME / AWS_EXECUTION_ENV are set): deploy a stage of "
                ".chalice/config.json such as dev or prod"
            )
        if "aws_region" not in fields and "AWS_DEFAULT_REGION" in env:
            fields["aws_region"] = env["AWS_DEFAULT_REGION"]
        try:
            return cls.from_values(fields)
        except ValidationError as exc:
            raise ConfigurationError(f"incomplete configuration: {exc}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment(with_stage_parameters(dict(os.environ)))


def with_stage_parameters(environ: dict[str, str]) -> dict[str, str]:
    """`environ` completed by the stage's SSM parameters (one GetParametersByPath per cold start).

    Parameter names are settings field names (`/contact-center/prod/twilio_workflow_sid`); see
    infra/README.md. Without SETTINGS_PARAMETER_PATH (local stages, tests) nothing is read.
    """
    path = environ.get("SETTINGS_PARAMETER_PATH", "")
    if not path:
        return environ
    from aws_lambda_powertools.utilities import parameters

    stored = parameters.get_parameters(path, max_age=300)
    return {**{name.upper(): str(value) for name, value in stored.items()}, **environ}


def load_twilio_credentials(settings: Settings) -> TwilioCredentials:
    """Twilio credentials for this stage: environment locally, Secrets Manager when deployed."""
    telephony = settings.telephony
    if settings.is_local:
        return TwilioCredentials(
            account_sid=telephony.twilio_account_sid,
            auth_token=telephony.twilio_auth_token or LOCAL_AUTH_TOKEN,
            api_key_sid=telephony.twilio_api_key_sid or LOCAL_API_KEY_SID,
            api_key_secret=telephony.twilio_api_key_secret or LOCAL_API_KEY_SECRET,
            rest_api_key_sid=telephony.twilio_rest_api_key_sid,
            rest_api_key_secret=telephony.twilio_rest_api_key_secret,
        )
    # Imported here: the parameters utility pulls in boto3 clients we do not want at cold start
    # for routes that never need a secret.
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(telephony.twilio_secret_name, max_age=300)
    data = json.loads(raw if isinstance(raw, str) else raw.decode())
    try:
        return TwilioCredentials(**data)
    except ValidationError as exc:
        raise ConfigurationError(
            f"secret {telephony.twilio_secret_name} is not valid Twilio credentials"
        ) from exc
