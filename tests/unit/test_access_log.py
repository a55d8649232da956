"""The access log line of the servers on the asyncio face (`httpsys.aio.access`): uvicorn's shape, escaped."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from httpsys.aio.access import ACCESS_LOGGER, log_access


def _request(method: bytes, raw_url: bytes, remote: tuple[str, int], version: tuple[int, int]) -> Any:
    return SimpleNamespace(
        snapshot=SimpleNamespace(method=method, raw_url=raw_url, remote_addr=remote, version=version)
    )


def test_a_line_has_uvicorns_shape(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        log_access(_request(b"GET", b"/a?b=c", ("127.0.0.1", 54321), (1, 1)), 200)
        log_access(_request(b"POST", b"/x", ("::1", 80), (1, 0)), 404)
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("httpsys.access", "INFO", '127.0.0.1:54321 - "GET /a?b=c HTTP/1.1" 200'),
        ("httpsys.access", "INFO", '[::1]:80 - "POST /x HTTP/1.0" 404'),
    ]


def test_control_and_non_ascii_bytes_are_escaped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        log_access(_request(b"GET", b"/caf\xc3\xa9\x1b[31m\x7f", ("10.0.0.1", 1), (1, 1)), 200)
    (record,) = caplog.records
    assert record.getMessage() == '10.0.0.1:1 - "GET /caf\\xc3\\xa9\\x1b[31m\\x7f HTTP/1.1" 200'
    assert record.getMessage().isprintable()


def test_nothing_is_formatted_while_the_logger_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=ACCESS_LOGGER):
        log_access(_request(b"GET", b"/", ("127.0.0.1", 1), (1, 1)), 200)
    assert caplog.records == []
