"""httpsys: the Windows HTTP Server API (HTTP.sys) for Python on Linux.

This module only re-exports the Pythonic asyncio face; it holds no logic.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
