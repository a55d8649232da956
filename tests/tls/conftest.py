"""TLS test fixtures: one throwaway PKI per session, a private configuration directory per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from certs import Pki, new_pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    return new_pki()


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    monkeypatch.setenv("HTTPSYS_CONFIG_DIR", str(directory))
    return directory
