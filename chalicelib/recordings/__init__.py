"""Recordings: copy to S3, verify, transcribe per speaker, play back."""
