"""The ``local_hub`` pytest fixture: real HF clients talking to ``tests/hub_server.py``.

Why the patching below: ``huggingface_hub``, ``datasets`` and ``transformers`` read ``HF_ENDPOINT``, ``HF_HOME``,
``HF_HUB_OFFLINE`` etc. once, at import time, into module constants (and ``transformers``/``huggingface_hub``
keep module-level ``HfApi`` instances bound to the endpoint they saw first). Setting environment variables inside a
test is therefore not enough once those libraries are imported. ``local_hub_session`` sets the environment *and*
patches every such copy, and restores all of it on exit, so several tests (and non-Hub tests) can share a process.

Use it from ``tests/conftest.py`` with ``from tests.hub_fixtures import local_hub  # noqa: F401`` and then::

    def test_push(local_hub):
        repo_id = local_hub.repo_id("tiny")           # "vlaser-tester/tiny"
        model.push_to_hub(repo_id)                    # real transformers -> local server
        local_hub.server.list_files(repo_id)          # server-side view of what was committed
        local_hub.stop()                              # the Hub goes away ...
        with local_hub.offline():                     # ... HF_HUB_OFFLINE=1, everything from local_hub.cache_dir
            AutoModel.from_pretrained(repo_id)

The fixture is function-scoped: a fresh server (new port, empty storage) and a fresh ``HF_HOME`` per test. Starting
the server takes milliseconds, and per-test isolation avoids state (repos, caches, fsspec instance caches) leaking
between tests.

Not redirected: ``transformers``' remote-code module cache (``HF_MODULES_CACHE``), because remote-code packages are
registered in ``sys.path``/``sys.modules`` process-wide; set ``HF_MODULES_CACHE`` before importing transformers if
that matters. ``datasets.config.USE_PARQUET_EXPORT`` is turned off because the dataset-viewer host
(``datasets-server.<endpoint host>``) cannot exist for a local endpoint.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.hub_server import LocalHubServer

__all__ = ["LocalHub", "local_hub", "local_hub_session"]

TEST_TOKEN = "hf_local_hub_test_token"
_MISSING = object()


class _Patcher:
    """Records attribute and environment changes and undoes them in reverse order."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Any, str, Any]] = []

    def setattr(self, target: Any, name: str, value: Any, *, only_if_present: bool = True) -> None:
        if target is None or (only_if_present and not hasattr(target, name)):
            return
        self._undo.append(("attr", target, name, getattr(target, name, _MISSING)))
        setattr(target, name, value)

    def setenv(self, name: str, value: str | None) -> None:
        self._undo.append(("env", None, name, os.environ.get(name, _MISSING)))
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    def undo(self) -> None:
        while self._undo:
            kind, target, name, old = self._undo.pop()
            if kind == "env":
                if old is _MISSING:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old
            elif old is _MISSING:
                delattr(target, name)
            else:
                setattr(target, name, old)


def _optional_module(name: str) -> Any:
    """Import ``name`` if installed, so its import-time constants exist now and can be patched and restored."""
    if importlib.util.find_spec(name.split(".")[0]) is None:
        return None
    return importlib.import_module(name)


def _reset_http_state() -> None:
    """Drop pooled connections and fsspec instance caches that would still point at a previous endpoint."""
    from huggingface_hub import HfFileSystem
    from huggingface_hub.utils import close_session

    close_session()
    HfFileSystem.clear_instance_cache()


@dataclass
class LocalHub:
    """What the fixture yields: the running server plus the client-side paths and helpers a test needs."""

    server: LocalHubServer
    url: str
    token: str
    home: Path
    cache_dir: Path
    datasets_cache_dir: Path
    _offline_flags: list[tuple[Any, str]] = field(default_factory=list, repr=False)

    @property
    def user(self) -> str:
        """Namespace that ``whoami`` reports, so ``create_repo("name")`` lands in ``f"{user}/name"``."""
        return self.server.user

    def repo_id(self, name: str) -> str:
        return f"{self.user}/{name}"

    @property
    def api(self) -> Any:
        """A ``HfApi`` bound explicitly to this server and token."""
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=self.token)

    def stop(self) -> None:
        """Take the Hub away (idempotent). The client cache in ``cache_dir`` stays, and so does the server's storage
        (under the test's ``tmp_path``), so ``server.list_files`` etc. still work afterwards."""
        self.server.stop()
        _reset_http_state()

    @contextmanager
    def offline(self) -> Iterator[None]:
        """Behave as if ``HF_HUB_OFFLINE=1`` had been set before import: clients must use the local cache only."""
        patcher = _Patcher()
        patcher.setenv("HF_HUB_OFFLINE", "1")
        for target, name in self._offline_flags:
            patcher.setattr(target, name, True)
        try:
            yield
        finally:
            patcher.undo()


@contextmanager
def local_hub_session(base_dir: Path) -> Iterator[LocalHub]:
    """Start a server, point all HF clients at it with a fresh ``HF_HOME`` under ``base_dir``; undo it all on exit.

    This is the fixture body, usable without pytest (e.g. in a notebook or a script).
    """
    from huggingface_hub import constants, hf_api
    from huggingface_hub.utils import _http

    home = Path(base_dir) / "hf_home"
    cache_dir = home / "hub"
    datasets_cache = home / "datasets"
    for directory in (cache_dir, datasets_cache):
        directory.mkdir(parents=True, exist_ok=True)

    server = LocalHubServer(storage_dir=Path(base_dir) / "hub_storage").start()
    url = server.url
    patcher = _Patcher()
    try:
        # 1. Environment, for anything imported or spawned later (subprocesses included).
        env = {
            "HF_ENDPOINT": url,
            "HF_TOKEN": TEST_TOKEN,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HOME": str(home),
            "HF_HUB_CACHE": str(cache_dir),
            "HF_ASSETS_CACHE": str(home / "assets"),
            "HF_XET_CACHE": str(home / "xet"),
            "HF_DATASETS_CACHE": str(datasets_cache),
        }
        for name, value in env.items():
            patcher.setenv(name, value)
        for name in (
            "HF_HUB_OFFLINE",
            "TRANSFORMERS_OFFLINE",
            "HF_DATASETS_OFFLINE",
            "HUGGING_FACE_HUB_TOKEN",
            "HF_TOKEN_PATH",
            "HUGGINGFACE_HUB_CACHE",
            "HUGGINGFACE_CO_STAGING",
        ):
            patcher.setenv(name, None)
        for name in ("NO_PROXY", "no_proxy"):  # never send 127.0.0.1 through a proxy
            current = os.environ.get(name, "")
            patcher.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))

        # 2. huggingface_hub import-time constants (read via `constants.X` at call time).
        constant_values = {
            "ENDPOINT": url,
            "HUGGINGFACE_CO_URL_TEMPLATE": url + "/{repo_id}/resolve/{revision}/{filename}",
            "HF_URL_HOSTS": frozenset(constants.HF_URL_HOSTS | {"127.0.0.1"}),
            "HF_HOME": str(home),
            "default_cache_path": str(cache_dir),
            "default_assets_cache_path": str(home / "assets"),
            "HUGGINGFACE_HUB_CACHE": str(cache_dir),
            "HUGGINGFACE_ASSETS_CACHE": str(home / "assets"),
            "HF_HUB_CACHE": str(cache_dir),
            "HF_ASSETS_CACHE": str(home / "assets"),
            "HF_XET_CACHE": str(home / "xet"),
            "HF_TOKEN_PATH": str(home / "token"),
            "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
            "CHECK_FOR_UPDATE_DONE_PATH": str(home / ".check_for_update_done"),
            "CHECK_FOR_SKILL_UPDATE_DONE_PATH": str(home / ".check_for_skill_update_done"),
            "AGENT_HARNESSES_PATH": str(home / ".agent_harnesses.json"),
            "HF_HUB_OFFLINE": False,
            "HF_HUB_DISABLE_XET": True,
            "HF_HUB_DISABLE_TELEMETRY": True,
        }
        for name, value in constant_values.items():
            patcher.setattr(constants, name, value)
        # Copies made with `from ..constants import X`, and objects bound to the endpoint at import time.
        patcher.setattr(_http, "_HUB_ORIGINS", frozenset(_http._HUB_ORIGINS | {_http._url_origin(url)}))
        patcher.setattr(hf_api.api, "endpoint", url)
        for module_name, name, value in (
            ("huggingface_hub.utils._cache_manager", "HF_HUB_CACHE", str(cache_dir)),
            ("huggingface_hub.utils._cache_assets", "HF_ASSETS_CACHE", str(home / "assets")),
            ("huggingface_hub.utils._git_credential", "ENDPOINT", url),
        ):
            patcher.setattr(_optional_module(module_name), name, value)

        # 3. transformers keeps one lazily created HfApi: drop it so it is rebuilt on this endpoint.
        transformers_hub = _optional_module("transformers.utils.hub")
        patcher.setattr(transformers_hub, "_hf_api", None)

        # 4. datasets copies endpoint, offline flag and cache paths into `datasets.config`.
        datasets_config = _optional_module("datasets.config")
        offline_flags: list[tuple[Any, str]] = [(constants, "HF_HUB_OFFLINE")]
        if datasets_config is not None:
            for name, value in {
                "HF_ENDPOINT": url,
                "HUB_DATASETS_URL": url + "/datasets/{repo_id}/resolve/{revision}/{path}",
                "HF_HUB_OFFLINE": False,
                "HF_DATASETS_OFFLINE": False,
                "HF_CACHE_HOME": str(home),
                "HF_DATASETS_CACHE": datasets_cache,
                "DOWNLOADED_DATASETS_PATH": datasets_cache / "downloads",
                "EXTRACTED_DATASETS_PATH": datasets_cache / "downloads" / "extracted",
                "USE_PARQUET_EXPORT": False,
            }.items():
                patcher.setattr(datasets_config, name, value)
            offline_flags += [(datasets_config, "HF_HUB_OFFLINE"), (datasets_config, "HF_DATASETS_OFFLINE")]

        _reset_http_state()
        yield LocalHub(
            server=server,
            url=url,
            token=TEST_TOKEN,
            home=home,
            cache_dir=cache_dir,
            datasets_cache_dir=datasets_cache,
            _offline_flags=offline_flags,
        )
    finally:
        server.stop()
        patcher.undo()
        _reset_http_state()


@pytest.fixture
def local_hub(tmp_path: Path) -> Iterator[LocalHub]:
    """Function-scoped local Hub: fresh server, token, ``HF_HOME`` and caches under ``tmp_path``; all restored after."""
    with local_hub_session(tmp_path) as hub:
        yield hub
