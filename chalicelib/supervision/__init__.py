"""Supervisors: who may read which conversation, the audit trail of every read, and listening
to, whispering in and joining a live call."""
