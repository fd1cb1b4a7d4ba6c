"""The escalation timeline of a waiting call: stages, steps, fallback, business hours, prompts."""
