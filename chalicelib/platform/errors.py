"""Errors of our own, raised by domain and adapter code and mapped to responses in web.py."""

from __future__ import annotations


class ContactCenterError(Exception):
    """Base of every error this app raises on purpose."""


class InvalidInput(ContactCenterError):
    """A request is missing fields or carries values we cannot use (HTTP 400)."""


class NotFound(ContactCenterError):
    """The thing asked for does not exist (HTTP 404)."""


class Conflict(ContactCenterError):
    """The change cannot be applied to the current state (HTTP 409)."""


class StorageUnavailable(ContactCenterError):
    """DynamoDB or S3 failed or was too slow; callers must degrade, not fail."""


class TelephonyUnavailable(ContactCenterError):
    """Twilio's REST API failed, was too slow, or refused the request.

    `status` is the HTTP status Twilio answered with, None when it did not answer (a refused
    connection, a timeout). Callers that retry look at `refused`: a 4xx other than 429 (Too Many
    Requests) is Twilio saying no to this request, and the same request gets the same answer.
    A 429 "is never processed and is always safe to retry"
    (https://www.twilio.com/docs/api/errors/20429); repeating requests for a deleted or invalid
    resource is what Twilio throttles as "Failure Threshold Exceeded"
    (https://www.twilio.com/docs/api/errors/70005).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def refused(self) -> bool:
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


class TaskChanged(Conflict):
    """A TaskRouter task moved on (accepted, canceled...) between our read and our write."""
