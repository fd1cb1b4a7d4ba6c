"""Live transcripts: real-time transcription of the customer leg, lines by speaker, and
the customer's mood from Amazon Comprehend."""
