"""Shared by every area: settings, logging and metrics, errors, the webhook signature check,
signing keys, the work queue and the client versions."""
