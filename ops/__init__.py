"""Operator tooling, run as `python -m ops <command>`. Never shipped in the Lambda bundle."""
