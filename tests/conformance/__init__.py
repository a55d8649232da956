"""Conformance suite of the win32 face (runs against any transport; see harness.py)."""
