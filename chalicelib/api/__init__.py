"""Chalice blueprints, one per area of the API; app.py registers them.

A blueprint imports at module level only what declaring its routes needs (chalice, api/web.py,
the path constants); each view imports its area's code when it first runs. A Lambda cold start
then pays for the area the invoked route uses, not for every area: no pydantic, boto3 or twilio
at `import app` (tests/unit/test_cold_start.py; `python -m ops bench incoming-call`).
"""
