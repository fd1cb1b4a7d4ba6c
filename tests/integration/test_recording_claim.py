"""One recording is copied by one job at a time: a conditional claim in the recordings table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import bootstrap
from chalicelib.recordings.domain import CopyInProgress, RecordingCallback
from chalicelib.telephony.forms import parse_form
from tests.conftest import ENGINES
from tests.fakes.twilio_http import RecordingHttpClient
from tests.recording_data import CUSTOMER_CALL, RECORDING_SID, conference_recording_form

pytestmark = ENGINES
NOW = datetime(2025, 2, 4, 17, 5, tzinfo=UTC)


def test_a_claim_is_held_by_one_claimant_until_it_lapses(container: bootstrap.Container) -> None:
    store = container.recording_store
    store.mark_received(RECORDING_SID, NOW)
    assert store.claim_copy(RECORDING_SID, "first", NOW, 360)
    assert not store.claim_copy(RECORDING_SID, "second", NOW + timedelta(seconds=10), 360)
    assert store.claim_copy(RECORDING_SID, "first", NOW + timedelta(seconds=20), 360)
    assert store.claim_copy(RECORDING_SID, "second", NOW + timedelta(seconds=400), 360)


def test_a_copied_recording_cannot_be_claimed(container: bootstrap.Container) -> None:
    store = container.recording_store
    store.mark_received(RECORDING_SID, NOW)
    store.record(RECORDING_SID, status="copied")
    assert not store.claim_copy(RECORDING_SID, "late", NOW, 360)


def test_a_job_finding_the_claim_held_fetches_nothing_and_retries(
    container: bootstrap.Container, twilio_http: RecordingHttpClient
) -> None:
    callback = parse_form(RecordingCallback, conference_recording_form())
    job = callback.copy_job(callback.timestamp or NOW, {"conversation": CUSTOMER_CALL})
    container.recording_store.mark_received(RECORDING_SID, NOW)
    far = datetime.now(UTC) + timedelta(days=1)
    assert container.recording_store.claim_copy(RECORDING_SID, "another-worker", far, 360)
    with pytest.raises(CopyInProgress):
        container.recordings.copy_recording(job)
    assert twilio_http.requests == [], "no download while another job holds the claim"
