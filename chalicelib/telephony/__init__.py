"""Twilio's wire formats: the forms it posts, TaskRouter events, phone numbers, the prompts
callers hear (`<Say>` text and voice), and the one adapter of its REST API."""
