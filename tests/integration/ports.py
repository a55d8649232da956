"""Loopback ports for tests that start servers (tests/portpool.py is the one source)."""

from __future__ import annotations

from portpool import free_port

__all__ = ["free_port"]
