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
    """Twilio's REST API failed or was too slow."""


class TaskChanged(Conflict):
    """A TaskRouter task moved on (accepted, canceled...) between our read and our write."""
