"""The only modules that talk to AWS and Twilio. Each takes its client in __init__."""
