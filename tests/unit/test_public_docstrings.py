"""Every public name of the asyncio face has a docstring with an example (issue 6, item 1)."""

from __future__ import annotations

import enum
import inspect

import httpsys

# Attributes documented by their class's docstring rather than their own (slots and enum members).
DOCUMENTED_BY_CLASS = {"Headers.raw", "Request.snapshot"}


def _public_members(cls: type) -> list[str]:
    names = []
    for name, value in vars(cls).items():
        if name.startswith("_") or isinstance(value, enum.Enum):
            continue
        names.append(name)
    return names


def test_every_public_name_of_the_asyncio_face_has_an_example() -> None:
    missing = []
    for name in httpsys.__all__:
        if name.startswith("_"):
            continue
        obj = getattr(httpsys, name)
        if "Example" not in (inspect.getdoc(obj) or "") and ">>>" not in (inspect.getdoc(obj) or ""):
            missing.append(name)
        if inspect.isclass(obj) and obj.__module__.startswith("httpsys.aio"):
            for member in _public_members(obj):
                qualified = f"{name}.{member}"
                if qualified in DOCUMENTED_BY_CLASS:
                    continue
                if "Example" not in (inspect.getdoc(getattr(obj, member)) or ""):
                    missing.append(qualified)
    assert missing == []
