"""The prefix of the Amazon Transcribe jobs this app starts, declared once.

The pipeline names its jobs with it (chalicelib/recordings/domain.py), and the recordings
blueprint's EventBridge rule picks their completion events by it. That rule is declared when
the app is imported, so this module imports nothing.
"""

from __future__ import annotations

TRANSCRIPTION_JOB_PREFIX = "cc-"
