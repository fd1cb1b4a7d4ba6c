"""Chalice blueprints, one per area of the API; app.py registers them."""
