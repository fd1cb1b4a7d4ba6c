"""Parameter names Twilio documents for each request it sends, copied from its reference pages.

The stand-in's payloads are held against these lists (not against what the app reads), so a
rehearsal cannot pass only because the stand-in and the app share a misspelt field.
"""

# https://www.twilio.com/docs/usage/webhooks/voice-webhooks (request parameters, geographic data)
VOICE_REQUEST = {
    "CallSid", "AccountSid", "From", "To", "CallStatus", "ApiVersion", "Direction",
    "ForwardedFrom", "CallerName", "ParentCallSid", "CallToken",
    "FromCity", "FromState", "FromZip", "FromCountry",
    "ToCity", "ToState", "ToZip", "ToCountry",
    "CallerCity", "CallerState", "CallerZip", "CallerCountry", "Caller",
    "CalledCity", "CalledState", "CalledZip", "CalledCountry", "Called",
}  # fmt: skip
VOICE_REQUEST_REQUIRED = {
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "CallStatus",
    "ApiVersion",
    "Direction",
}

# https://www.twilio.com/docs/voice/api/call-resource#statuscallback (+ the standard parameters)
STATUS_CALLBACK = VOICE_REQUEST | {
    "CallDuration", "Duration", "Timestamp", "CallbackSource", "SequenceNumber",
    "SipResponseCode", "RecordingUrl", "RecordingSid", "RecordingDuration",
}  # fmt: skip
STATUS_CALLBACK_REQUIRED = VOICE_REQUEST_REQUIRED | {
    "Timestamp",
    "CallbackSource",
    "SequenceNumber",
}

# https://www.twilio.com/docs/taskrouter/api/event/reference (common fields + event data fields)
TASKROUTER_EVENT_COMMON = {
    "EventType", "AccountSid", "WorkspaceSid", "WorkspaceName", "EventDescription",
    "ResourceType", "ResourceSid", "Timestamp", "TimestampMs", "Sid",
}  # fmt: skip
TASKROUTER_EVENT_DATA = {
    "TaskSid", "TaskAttributes", "TaskAge", "TaskPriority", "TaskAssignmentStatus",
    "TaskCanceledReason", "TaskCompletedReason", "TaskQueueSid", "TaskQueueName",
    "TaskQueueEnteredDate", "TaskDateCreated", "TaskChannelSid", "TaskChannelUniqueName",
    "TaskVersion", "TaskQueueTargetExpression", "TaskReEvaluatedReason",
    "WorkflowSid", "WorkflowName", "WorkflowFilterName", "WorkflowFilterTargetExpression",
    "WorkflowFilterTarget", "WorkflowFilterExpression",
    "WorkerSid", "WorkerName", "WorkerAttributes", "WorkerActivitySid", "WorkerActivityName",
    "WorkerPreviousActivitySid", "WorkerPreviousActivityName", "WorkerTimeInPreviousActivity",
    "WorkerTimeInPreviousActivityMs", "WorkerVersion", "ReservationSid",
}  # fmt: skip

# https://www.twilio.com/docs/taskrouter/handle-assignment-callbacks
ASSIGNMENT_CALLBACK = {
    "AccountSid", "WorkspaceSid", "WorkflowSid", "TaskQueueSid", "WorkerSid", "TaskSid",
    "TaskAge", "TaskPriority", "TaskAttributes", "WorkerAttributes", "ReservationSid",
}  # fmt: skip

# https://www.twilio.com/docs/voice/api/conference-resource#conference-status-callback
CONFERENCE_CALLBACK = {
    "ConferenceSid", "FriendlyName", "AccountSid", "SequenceNumber", "Timestamp",
    "StatusCallbackEvent", "CallSid", "Muted", "Hold", "Coaching", "EndConferenceOnExit",
    "StartConferenceOnEnter", "CallSidEndingConference", "ParticipantLabel",
    "ReasonConferenceEnded", "Reason", "ParticipantCallStatus", "ReasonParticipantLeft",
}  # fmt: skip
CONFERENCE_EVENTS = {
    "conference-end", "conference-start", "participant-leave", "participant-join",
    "participant-mute", "participant-unmute", "participant-hold", "participant-unhold",
    "participant-modify", "participant-speech-start", "participant-speech-stop",
    "announcement-end", "announcement-fail",
}  # fmt: skip
CONFERENCE_END_REASONS = {
    "conference-ended-via-api", "participant-with-end-conference-on-exit-left",
    "participant-with-end-conference-on-exit-kicked", "last-participant-kicked",
    "last-participant-left",
}  # fmt: skip

# https://www.twilio.com/docs/voice/api/recording#recordingstatuscallback
RECORDING_CALLBACK = {
    "AccountSid", "CallSid", "RecordingSid", "RecordingUrl", "RecordingStatus",
    "RecordingDuration", "RecordingChannels", "RecordingStartTime", "RecordingSource",
    "RecordingTrack", "ErrorCode", "ConferenceSid",
}  # fmt: skip
RECORDING_SOURCES = {
    "DialVerb", "Conference", "OutboundAPI", "Trunking", "RecordVerb",
    "StartCallRecordingAPI", "StartConferenceRecordingAPI",
}  # fmt: skip
