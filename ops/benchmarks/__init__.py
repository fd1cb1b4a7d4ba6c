"""Benchmark scripts: `python -m ops bench <name>`. They print figures; they assert nothing."""
