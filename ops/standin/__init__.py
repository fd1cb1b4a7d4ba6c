"""A local Twilio stand-in: plays Twilio's side of every exchange with our app, with ground truth.

Not shipped to production. It serves the REST endpoints the app calls (TaskRouter, Calls,
Conferences, Recordings), runs a TaskRouter engine (workers, activities, the app's workflow,
tasks, reservations), places callers who follow the app's TwiML, plays agents answering or
missing offers, and posts every webhook as Twilio does (same field names, signed). What really
happened to each call is written to a ground-truth log, independent of what the app recorded.
See docs/rehearsal.md.
"""
