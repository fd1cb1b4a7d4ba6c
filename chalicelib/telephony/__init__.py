"""Twilio's wire formats: the forms it posts, TaskRouter events, phone numbers, and the one
adapter of its REST API."""
