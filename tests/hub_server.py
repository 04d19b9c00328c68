"""A small Hugging Face Hub-compatible HTTP server for offline tests.

Why this exists: the project pushes and loads models, model cards and datasets through the real ``huggingface_hub``,
``transformers`` and ``datasets`` clients, but the test machines cannot reach huggingface.co and PyPI has no
usable offline Hub. Mocking ``HfApi`` methods would skip exactly the code we want to exercise (LFS routing, cache
layout, error mapping), so instead this module serves the subset of the Hub HTTP API those clients call, and the
clients are pointed at it through ``HF_ENDPOINT`` (see ``tests/hub_fixtures.py``).

Only the Python standard library is used. The server binds ``127.0.0.1`` on a free port and nothing else.

Implemented endpoints (``{type}`` is ``models``/``datasets``/``spaces``, ``{id}`` is ``namespace/name``, ``{rev}``
a branch, tag, ``refs/pr/N`` or (prefix of a) commit sha; URL prefixes ``/datasets/`` and ``/spaces/`` select the
repo type for the non-API routes):

==========================================================  =====================================================
``GET  /api/whoami-v2``                                     identity of the (any) bearer token
``POST /api/validate-yaml``                                 README front-matter check (400 on invalid YAML)
``POST /api/repos/create`` / ``DELETE /api/repos/delete``   repo creation (409 + url if it exists) / deletion
``GET  /api/{type}/{id}[/revision/{rev}]``                  repo info (``?blobs=true`` adds sizes + LFS info)
``GET  /api/{type}/{id}/tree/{rev}[/{path}]``               listing (``recursive``, ``expand``), 404 EntryNotFound
``POST /api/{type}/{id}/paths-info/{rev}``                  info for given paths (form or JSON body)
``POST /api/{type}/{id}/preupload/{rev}``                   upload mode (``lfs``/``regular``) and remote oid
``POST /api/{type}/{id}/commit/{rev}``                      ndjson commit (file, lfsFile, deletedFile/Folder)
``GET  /api/{type}/{id}/refs`` / ``commits/{rev}``          branches, tags, PR refs / history
``POST|DELETE /api/{type}/{id}/branch/{name}``              branch creation / deletion
``POST /api/{type}/{id}/tag/{rev}``                         tag creation
``POST /[{type}/]{id}.git/info/lfs/objects/batch``          git-LFS batch API (basic transfer + verify)
``PUT  /_lfs/objects/{sha256}`` / ``POST /_lfs/verify``     basic-transfer upload target / verify action
``GET|HEAD /[{type}/]{id}/resolve/{rev}/{path}``            download with ``X-Repo-Commit``, ``ETag``, ``Range``;
                                                            LFS files add ``X-Linked-Etag`` / ``X-Linked-Size``
==========================================================  =====================================================

Errors carry the ``X-Error-Code`` header the clients map to exceptions: ``RepoNotFound``, ``RevisionNotFound`` and
``EntryNotFound`` (404), with a JSON body ``{"error": ...}``.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

import yaml

__all__ = ["DEFAULT_GITATTRIBUTES", "FileEntry", "HubError", "LocalHubServer", "RequestRecord"]

HOST = "127.0.0.1"
DEFAULT_USER = "vlaser-tester"
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024  # the Hub stores any file of 10 MiB or more in LFS
_CHUNK = 1024 * 1024
_REPO_PLURALS = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_SHA_RE = re.compile(r"[0-9a-f]{7,40}")
_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")

# The .gitattributes the Hub puts in the initial commit of a new repo: these patterns are what routes
# `*.safetensors`, `*.parquet`, images etc. through LFS, exactly like on huggingface.co.
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.lz4 *.mds *.mlmodel *.model *.msgpack "
        "*.npy *.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* "
        "*.tar.* *.tar *.tflite *.tgz *.wasm *.xz *.zip *.zst *tfevents* *.mp3 *.ogg *.wav *.jpg *.jpeg *.png "
        "*.webp *.gif *.mp4 *.webm"
    ).split()
)


def _now_iso() -> str:
    """Timestamp in the exact format ``huggingface_hub.utils.parse_datetime`` expects."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _git_blob_oid(data: bytes) -> str:
    """Git blob sha1, which the Hub reports as ``oid`` / ``blobId`` for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-LFS pointer file git stores in place of an LFS file; its blob oid is the file's git ``oid``."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _split_front_matter(content: str) -> str | None:
    """Return the YAML block of a README (between the leading ``---`` lines), or None when there is none."""
    match = re.match(r"^\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|$)", content, re.DOTALL)
    if match is None:
        return None
    return match.group(1)


class HubError(Exception):
    """An HTTP error answered the way the Hub does, so the client raises its matching exception."""

    def __init__(
        self,
        status: int,
        message: str,
        error_code: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.headers = headers or {}
        self.body = body


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit's tree. Content lives content-addressed on disk, so entries are cheap to share."""

    size: int
    oid: str  # git blob sha1 of the content (regular) or of the LFS pointer (LFS)
    sha256: str | None = None  # set for LFS files: the LFS object id
    pointer_size: int | None = None

    @property
    def is_lfs(self) -> bool:
        return self.sha256 is not None


@dataclass
class _Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    date: str
    author: str
    files: dict[str, FileEntry]


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    sdk: str | None = None
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:24])
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    pull_requests: dict[int, str] = field(default_factory=dict)
    commits: dict[str, _Commit] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    """One handled request, kept so tests can assert *how* a client talked to the Hub (e.g. that LFS was used)."""

    method: str
    path: str
    status: int


class _HubState:
    """All repositories, commits and stored objects. Every mutation and lookup holds ``self.lock``."""

    def __init__(self, storage_dir: Path, user: str) -> None:
        self.storage_dir = storage_dir
        self.user = user
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], _Repo] = {}
        self.pending_lfs: dict[str, int] = {}  # oid -> declared size, from the batch API
        self.blob_dir = storage_dir / "blobs"
        self.lfs_dir = storage_dir / "lfs"
        self.tmp_dir = storage_dir / "tmp"
        for directory in (self.blob_dir, self.lfs_dir, self.tmp_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._commit_counter = 0

    # ----------------------------------------------------------------------------------------------- storage
    def store_blob(self, data: bytes) -> str:
        """Store a regular (non-LFS) file's content under its git oid and return the oid."""
        oid = _git_blob_oid(data)
        target = self.blob_dir / oid
        if not target.exists():
            self._atomic_write(target, data)
        return oid

    def _atomic_write(self, target: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)

    def lfs_path(self, sha256: str) -> Path:
        return self.lfs_dir / sha256

    def content_path(self, entry: FileEntry) -> Path:
        return self.lfs_path(entry.sha256) if entry.sha256 is not None else self.blob_dir / entry.oid

    # ------------------------------------------------------------------------------------------------- repos
    def get_repo(self, repo_type: str, repo_id: str) -> _Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository not found: {repo_type}s/{repo_id}", "RepoNotFound")
        return repo

    def create_repo(self, repo_type: str, repo_id: str, private: bool, sdk: str | None) -> _Repo:
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                raise HubError(409, f"You already created this {repo_type} repo")
            repo = _Repo(repo_type=repo_type, repo_id=repo_id, private=private, created_at=_now_iso(), sdk=sdk)
            oid = self.store_blob(DEFAULT_GITATTRIBUTES.encode())
            files = {".gitattributes": FileEntry(size=len(DEFAULT_GITATTRIBUTES), oid=oid)}
            self.repos[(repo_type, repo_id)] = repo
            commit = self._new_commit(repo, None, "initial commit", "", files)
            repo.branches["main"] = commit.oid
            return repo

    def delete_repo(self, repo_type: str, repo_id: str) -> None:
        with self.lock:
            self.get_repo(repo_type, repo_id)
            del self.repos[(repo_type, repo_id)]

    def resolve_revision(self, repo: _Repo, revision: str) -> str:
        """Map a branch / tag / ``refs/...`` / (short) sha to a commit sha, or raise RevisionNotFound."""
        with self.lock:
            rev = revision
            if rev.startswith("refs/heads/"):
                rev = rev[len("refs/heads/") :]
            elif rev.startswith("refs/tags/"):
                rev = rev[len("refs/tags/") :]
            if rev in repo.branches:
                return repo.branches[rev]
            if rev in repo.tags:
                return repo.tags[rev]
            pr = re.fullmatch(r"refs/pr/(\d+)", rev)
            if pr is not None and int(pr.group(1)) in repo.pull_requests:
                return repo.pull_requests[int(pr.group(1))]
            if _SHA_RE.fullmatch(rev):
                if rev in repo.commits:
                    return rev
                matches = [oid for oid in repo.commits if oid.startswith(rev)]
                if len(matches) == 1:
                    return matches[0]
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def commit_at(self, repo: _Repo, revision: str) -> _Commit:
        with self.lock:
            return repo.commits[self.resolve_revision(repo, revision)]

    def snapshot(self, repo_type: str, repo_id: str, revision: str) -> tuple[_Repo, _Commit, dict[str, FileEntry]]:
        """The repo, the commit `revision` names and a copy of its file table, read under one lock."""
        with self.lock:
            repo = self.get_repo(repo_type, repo_id)
            commit = self.commit_at(repo, revision)
            return repo, commit, dict(commit.files)

    def _new_commit(
        self, repo: _Repo, parent: str | None, title: str, message: str, files: dict[str, FileEntry]
    ) -> _Commit:
        self._commit_counter += 1
        seed = json.dumps([repo.uid, parent, title, time.time_ns(), self._commit_counter, sorted(files)])
        oid = hashlib.sha1(seed.encode()).hexdigest()
        commit = _Commit(oid, parent, title, message, _now_iso(), self.user, dict(files))
        repo.commits[oid] = commit
        return commit

    # ----------------------------------------------------------------------------------------------- commits
    def commit(
        self,
        repo_type: str,
        repo_id: str,
        revision: str,
        lines: list[dict[str, Any]],
        create_pr: bool,
    ) -> tuple[_Commit, int | None]:
        """Apply ndjson commit operations on top of ``revision`` (a branch or PR ref); return (commit, PR number)."""
        header: dict[str, Any] = {}
        operations: list[tuple[str, dict[str, Any]]] = []
        for line in lines:
            key, value = line.get("key"), line.get("value")
            if not isinstance(value, dict):
                raise HubError(400, f"Malformed commit line: {line!r}")
            if key == "header":
                header = value
            elif key in ("file", "lfsFile", "deletedFile", "deletedFolder"):
                operations.append((key, value))
            else:
                raise HubError(400, f"Unknown commit operation: {key!r}")
        title = str(header.get("summary") or "").strip()
        if not title:
            raise HubError(400, "Commit summary is required")

        with self.lock:
            repo = self.get_repo(repo_type, repo_id)
            head = self.resolve_revision(repo, revision)
            branch = revision[len("refs/heads/") :] if revision.startswith("refs/heads/") else revision
            pr_match = re.fullmatch(r"refs/pr/(\d+)", revision)
            if not create_pr and branch not in repo.branches and pr_match is None:
                raise HubError(400, f"Cannot commit on {revision!r}: not a branch")
            parent_commit = header.get("parentCommit")
            if parent_commit:
                if not head.startswith(str(parent_commit)):
                    raise HubError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(repo.commits[head].files)
            for key, value in operations:
                path = str(value.get("path", "")).strip("/")
                if not path:
                    raise HubError(400, f"Missing path in {key} operation")
                if key == "file":
                    if value.get("encoding", "base64") != "base64":
                        raise HubError(400, "Only base64 encoding is supported")
                    data = base64.b64decode(value.get("content", ""))
                    files[path] = FileEntry(size=len(data), oid=self.store_blob(data))
                elif key == "lfsFile":
                    sha256 = str(value.get("oid", ""))
                    if value.get("algo", "sha256") != "sha256" or not self.lfs_path(sha256).is_file():
                        raise HubError(400, f"LFS object {sha256} for {path} was not uploaded")
                    size = self.lfs_path(sha256).stat().st_size
                    if value.get("size") is not None and int(value["size"]) != size:
                        raise HubError(400, f"Size mismatch for LFS file {path}")
                    pointer = _lfs_pointer(sha256, size)
                    files[path] = FileEntry(size, _git_blob_oid(pointer), sha256, len(pointer))
                elif key == "deletedFile":
                    if path not in files:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    del files[path]
                else:  # deletedFolder
                    doomed = [p for p in files if p.startswith(path + "/")]
                    if not doomed:
                        raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                    for doomed_path in doomed:
                        del files[doomed_path]
            commit = self._new_commit(repo, head, title, str(header.get("description") or ""), files)
            pr_number: int | None = None
            if create_pr:
                pr_number = max(repo.pull_requests, default=0) + 1
                repo.pull_requests[pr_number] = commit.oid
            elif pr_match is not None:
                repo.pull_requests[int(pr_match.group(1))] = commit.oid
            else:
                repo.branches[branch] = commit.oid
            return commit, pr_number

    # ------------------------------------------------------------------------------------------ tree helpers
    @staticmethod
    def folders(files: dict[str, FileEntry]) -> set[str]:
        out: set[str] = set()
        for path in files:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]))
        return out

    @staticmethod
    def tree_oid(files: dict[str, FileEntry], folder: str) -> str:
        lines = sorted(f"{p} {e.oid}" for p, e in files.items() if p.startswith(folder + "/"))
        return hashlib.sha1("\n".join(lines).encode()).hexdigest()

    def last_commit(self, repo: _Repo, head: str, path: str, is_folder: bool) -> dict[str, str]:
        """The most recent commit reachable from ``head`` that changed ``path`` (the Hub's ``lastCommit``)."""

        def signature(commit: _Commit) -> Any:
            if is_folder:
                return sorted((p, e.oid) for p, e in commit.files.items() if p.startswith(path + "/"))
            entry = commit.files.get(path)
            return entry.oid if entry else None

        with self.lock:
            commit = repo.commits[head]
            current = signature(commit)
            while commit.parent is not None:
                parent = repo.commits[commit.parent]
                if signature(parent) != current:
                    break
                commit = parent
            return {"id": commit.oid, "title": commit.title, "date": commit.date}


class _HubHTTPServer(ThreadingHTTPServer):
    """Threaded server that remembers its open connections so ``stop()`` can cut keep-alive sockets."""

    daemon_threads = True
    block_on_close = False  # stop() cuts the connections itself; never wait on idle keep-alive threads
    allow_reuse_address = True

    def __init__(self, hub: LocalHubServer) -> None:
        self.hub = hub
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((HOST, 0), _HubRequestHandler)


class _HubRequestHandler(BaseHTTPRequestHandler):
    """Parses requests, dispatches to the route methods and answers errors the way the Hub does."""

    protocol_version = "HTTP/1.1"  # keep-alive: the clients pool connections
    server_version = "VlaserLocalHub/1.0"
    timeout = 60  # idle keep-alive connections end on their own
    server: _HubHTTPServer

    # --------------------------------------------------------------------------------------------- plumbing
    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.open_connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        """Silence the default stderr access log; requests are recorded in ``LocalHubServer.request_log``."""

    @property
    def hub(self) -> LocalHubServer:
        return self.server.hub

    @property
    def state(self) -> _HubState:
        return self.server.hub._state

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        self._status = 499  # stays if the client goes away before any response
        self._recorded = False
        self._body_consumed = False
        split = urlsplit(self.path)
        self._query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        segments = [unquote(s) for s in split.path.split("/")[1:]]
        if segments and segments[-1] == "" and len(segments) > 1:
            segments = segments[:-1]
        try:
            self._route(method, segments)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as error:
            if self._recorded:  # a response is already on the wire: the only safe move is to drop the connection
                self.close_connection = True
            elif isinstance(error, HubError):
                self._send_error(error)
            else:  # pragma: no cover - a server bug; report it to the client as a 500 and resync by closing
                self._send_error(HubError(500, f"{type(error).__name__}: {error}"))
                self.close_connection = True
        finally:
            if not self._recorded:
                self.hub._record(RequestRecord(method, self.path, self._status))

    def _start_response(self, status: int) -> None:
        """Log the request *before* the status line goes out, so a client never sees a response not yet logged."""
        self._status = status
        self._recorded = True
        self.hub._record(RequestRecord(self.command, self.path, status))
        self.send_response(status)

    def _read_body_to(self, sink: BinaryIO) -> int:
        """Copy the request body into ``sink`` (Content-Length or chunked encoding); return its size."""
        self._body_consumed = True
        total = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ConnectionError("client closed the connection mid-body")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return total
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, _CHUNK))
                    if not chunk:
                        raise ConnectionError("client closed the connection mid-body")
                    sink.write(chunk)
                    remaining -= len(chunk)
                total += size
                self.rfile.readline(65537)  # CRLF after each chunk
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining:
            chunk = self.rfile.read(min(remaining, _CHUNK))
            if not chunk:
                raise ConnectionError("client closed the connection mid-body")
            sink.write(chunk)
            remaining -= len(chunk)
            total += len(chunk)
        return total

    def _read_body(self) -> bytes:
        if self._body_consumed:
            return b""
        buffer = _BytesSink()
        self._read_body_to(buffer)
        return buffer.getvalue()

    def _read_json(self) -> Any:
        raw = self._read_body()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise HubError(400, f"Invalid JSON body: {error}") from error

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        if not self._body_consumed and self.command != "HEAD":
            self._read_body()  # drain so the keep-alive connection stays in sync
        self._start_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _send_json(self, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _send_error(self, error: HubError) -> None:
        headers = dict(error.headers)
        if error.error_code:
            headers["X-Error-Code"] = error.error_code
        headers["X-Error-Message"] = quote(error.message, safe=" :/,.'()-_")
        body = {"error": error.message, **(error.body or {})}
        self._send_json(body, status=error.status, headers=headers)

    def _require_auth(self) -> None:
        """Writes need a token, like on the Hub; any ``Bearer`` value is accepted."""
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            raise HubError(401, "Invalid credentials in Authorization header: a token is required")

    # ---------------------------------------------------------------------------------------------- routing
    def _route(self, method: str, seg: list[str]) -> None:
        if seg[:1] == ["api"]:
            self._route_api(method, seg[1:])
            return
        if seg[:2] == ["_lfs", "objects"] and len(seg) == 3 and method == "PUT":
            self._lfs_put(seg[2])
            return
        if seg == ["_lfs", "verify"] and method == "POST":
            self._lfs_verify()
            return
        repo_type = "model"
        if seg and seg[0] in _REPO_PLURALS and len(seg) >= 3:
            repo_type = _REPO_PLURALS[seg[0]]
            seg = seg[1:]
        if len(seg) >= 2 and seg[1].endswith(".git") and seg[2:] == ["info", "lfs", "objects", "batch"]:
            if method != "POST":
                raise HubError(405, "Method not allowed")
            self._lfs_batch(repo_type, f"{seg[0]}/{seg[1][: -len('.git')]}")
            return
        if len(seg) >= 5 and seg[2] == "resolve" and method in ("GET", "HEAD"):
            revision, rest = self._split_revision(seg[3:])
            if not rest:
                raise HubError(404, "Missing file path", "EntryNotFound")
            self._resolve(repo_type, f"{seg[0]}/{seg[1]}", revision, "/".join(rest))
            return
        raise HubError(404, f"Not found: {method} {self.path}")

    @staticmethod
    def _split_revision(parts: list[str]) -> tuple[str, list[str]]:
        """Revision segment(s) + remaining path: ``refs/pr/1`` may arrive unencoded as three segments."""
        if parts[0] == "refs" and len(parts) >= 3:
            return "/".join(parts[:3]), parts[3:]
        return parts[0], parts[1:]

    def _route_api(self, method: str, seg: list[str]) -> None:
        if seg == ["whoami-v2"] and method == "GET":
            self._whoami()
        elif seg == ["validate-yaml"] and method == "POST":
            self._validate_yaml()
        elif seg == ["repos", "create"] and method == "POST":
            self._create_repo()
        elif seg == ["repos", "delete"] and method == "DELETE":
            self._delete_repo()
        elif len(seg) == 2 and seg[0] in _REPO_PLURALS:
            raise HubError(404, f"Repository not found: {seg[1]}", "RepoNotFound")
        elif len(seg) >= 3 and seg[0] in _REPO_PLURALS:
            repo_type = _REPO_PLURALS[seg[0]]
            repo_id = f"{seg[1]}/{seg[2]}"
            self._route_repo_api(method, repo_type, repo_id, seg[3:])
        elif seg[:1] == ["telemetry"]:
            self._send_json({})
        else:
            raise HubError(404, f"Unknown API route: {method} /api/{'/'.join(seg)}")

    def _route_repo_api(self, method: str, repo_type: str, repo_id: str, rest: list[str]) -> None:
        if not rest and method == "GET":
            self._repo_info(repo_type, repo_id, "main", explicit_revision=False)
            return
        if not rest:
            raise HubError(405, "Method not allowed")
        action, args = rest[0], rest[1:]
        if action == "refs" and method == "GET":
            self._refs(repo_type, repo_id)
            return
        if not args:
            raise HubError(404, f"Unknown repo API route: {action}")
        revision, tail = self._split_revision(args)
        if action == "revision" and method == "GET" and not tail:
            self._repo_info(repo_type, repo_id, revision, explicit_revision=True)
        elif action == "tree" and method == "GET":
            self._tree(repo_type, repo_id, revision, "/".join(tail))
        elif action == "paths-info" and method == "POST":
            self._paths_info(repo_type, repo_id, revision)
        elif action == "preupload" and method == "POST":
            self._preupload(repo_type, repo_id, revision)
        elif action == "commit" and method == "POST":
            self._commit(repo_type, repo_id, revision)
        elif action == "commits" and method == "GET":
            self._commits(repo_type, repo_id, revision)
        elif action == "branch" and method in ("POST", "DELETE"):
            self._branch(method, repo_type, repo_id, "/".join(args))
        elif action == "tag" and method == "POST":
            self._tag(repo_type, repo_id, revision)
        else:
            raise HubError(404, f"Unknown repo API route: {method} {action}")

    # ------------------------------------------------------------------------------------------- endpoints
    def _whoami(self) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            raise HubError(401, "Invalid username or password.")
        user = self.state.user
        self._send_json(
            {
                "type": "user",
                "id": hashlib.sha1(user.encode()).hexdigest()[:24],
                "name": user,
                "fullname": "VLASER Tester",
                "email": f"{user}@example.invalid",
                "emailVerified": True,
                "canPay": False,
                "isPro": False,
                "periodEnd": None,
                "avatarUrl": "",
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "local-hub", "role": "write"}},
            }
        )

    def _validate_yaml(self) -> None:
        payload = self._read_json()
        content = str(payload.get("content", ""))
        block = _split_front_matter(content)
        errors: list[dict[str, str]] = []
        if block is not None:
            try:
                data = yaml.safe_load(block)
            except yaml.YAMLError as error:
                errors.append({"message": f"Invalid YAML in README front matter: {error}"})
            else:
                if data is not None and not isinstance(data, dict):
                    errors.append({"message": "README front matter must be a YAML mapping"})
        if errors:
            raise HubError(400, errors[0]["message"], body={"errors": errors, "warnings": []})
        self._send_json({"errors": [], "warnings": []})

    def _create_repo(self) -> None:
        self._require_auth()
        payload = self._read_json()
        name = str(payload.get("name") or "")
        namespace = payload.get("organization") or self.state.user
        repo_type = payload.get("type") or "model"
        if repo_type not in _URL_PREFIX:
            raise HubError(400, f"Invalid repo type: {repo_type}")
        if not re.fullmatch(r"[\w.-]+", name) or not re.fullmatch(r"[\w.-]+", str(namespace)):
            raise HubError(400, f"Invalid repo name: {namespace}/{name}")
        if repo_type == "space" and not payload.get("sdk"):
            raise HubError(400, "A Space needs an sdk")
        repo_id = f"{namespace}/{name}"
        url = f"{self.hub.url}/{_URL_PREFIX[repo_type]}{repo_id}"
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        try:
            self.state.create_repo(repo_type, repo_id, private, payload.get("sdk"))
        except HubError as error:
            error.body = {"url": url}
            raise
        self._send_json({"url": url, "name": repo_id, "id": self.state.repos[(repo_type, repo_id)].uid})

    def _delete_repo(self) -> None:
        self._require_auth()
        payload = self._read_json()
        namespace = payload.get("organization") or self.state.user
        self.state.delete_repo(payload.get("type") or "model", f"{namespace}/{payload.get('name')}")
        self._send_json({})

    def _repo_info(self, repo_type: str, repo_id: str, revision: str, explicit_revision: bool) -> None:
        state = self.state
        repo, commit, files = state.snapshot(repo_type, repo_id, revision)
        with_blobs = self._query.get("blobs", "").lower() in ("1", "true")
        siblings: list[dict[str, Any]] = []
        for path in sorted(files):
            sibling: dict[str, Any] = {"rfilename": path}
            if with_blobs:
                entry = files[path]
                sibling.update(size=entry.size, blobId=entry.oid)
                if entry.is_lfs:
                    sibling["lfs"] = {"size": entry.size, "sha256": entry.sha256, "pointerSize": entry.pointer_size}
            siblings.append(sibling)
        card = self._card_data(files)
        info: dict[str, Any] = {
            "_id": repo.uid,
            "id": repo_id,
            "author": repo_id.split("/")[0],
            "sha": commit.oid,
            "createdAt": repo.created_at,
            "lastModified": commit.date,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": list(card.get("tags") or []) if isinstance(card.get("tags"), list) else [],
            "siblings": siblings,
            "usedStorage": sum(entry.size for entry in files.values()),
        }
        if card:
            info["cardData"] = card
        if repo_type == "model":
            info["modelId"] = repo_id
            for key in ("library_name", "pipeline_tag"):
                if isinstance(card.get(key), str):
                    info[key] = card[key]
        elif repo_type == "space":
            info.update(sdk=repo.sdk, subdomain=repo_id.replace("/", "-"), host=self.hub.url)
        self._send_json(info)

    def _card_data(self, files: dict[str, FileEntry]) -> dict[str, Any]:
        """Parsed README front matter, which the Hub returns as ``cardData``."""
        entry = files.get("README.md")
        if entry is None:
            return {}
        try:
            block = _split_front_matter(self.state.content_path(entry).read_text(encoding="utf-8"))
            data = yaml.safe_load(block) if block is not None else None
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return {}
        return data if isinstance(data, dict) else {}

    def _entry_json(
        self, repo: _Repo, head: str, files: dict[str, FileEntry], path: str, expand: bool
    ) -> dict[str, Any]:
        entry = files.get(path)
        if entry is not None:
            out: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
            if entry.is_lfs:
                out["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
        else:
            out = {"type": "directory", "oid": _HubState.tree_oid(files, path), "size": 0, "path": path}
        if expand:
            out["lastCommit"] = self.state.last_commit(repo, head, path, is_folder=entry is None)
        return out

    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        state = self.state
        path = path.strip("/")
        recursive = self._query.get("recursive", "").lower() in ("1", "true")
        expand = self._query.get("expand", "").lower() in ("1", "true")
        repo, commit, files = state.snapshot(repo_type, repo_id, revision)
        folders = _HubState.folders(files)
        if path and path not in folders:
            headers = {"X-Repo-Commit": commit.oid}
            if path in files:
                raise HubError(404, f"{path} is a file, not a directory", "EntryNotFound", headers)
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", headers)
        prefix = f"{path}/" if path else ""
        entries: list[str] = []
        for candidate in sorted(folders | set(files)):
            if not candidate.startswith(prefix):
                continue
            relative = candidate[len(prefix) :]
            if recursive or "/" not in relative:
                entries.append(candidate)
        # folders first, like the Hub
        entries.sort(key=lambda p: (p in files, p))
        self._send_json([self._entry_json(repo, commit.oid, files, p, expand) for p in entries])

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        raw = self._read_body()
        content_type = self.headers.get("Content-Type", "")
        if "json" in content_type:
            payload = json.loads(raw or b"{}")
            paths = payload.get("paths", [])
            expand = bool(payload.get("expand"))
        else:
            form = parse_qs(raw.decode(), keep_blank_values=True)
            paths = form.get("paths", [])
            expand = (form.get("expand", ["false"])[-1]).lower() in ("1", "true")
        if isinstance(paths, str):
            paths = [paths]
        state = self.state
        repo, commit, files = state.snapshot(repo_type, repo_id, revision)
        folders = _HubState.folders(files)
        out = []
        for path in paths:
            path = str(path).strip("/")
            if path in files or path in folders:
                out.append(self._entry_json(repo, commit.oid, files, path, expand))
        self._send_json(out)

    def _lfs_patterns(self, files: dict[str, FileEntry]) -> list[str]:
        entry = files.get(".gitattributes")
        if entry is None:
            return []
        patterns = []
        for line in self.state.content_path(entry).read_text(encoding="utf-8", errors="replace").splitlines():
            tokens = line.split()
            if len(tokens) >= 2 and not tokens[0].startswith("#") and "filter=lfs" in tokens[1:]:
                patterns.append(tokens[0])
        return patterns

    @staticmethod
    def _matches(path: str, pattern: str) -> bool:
        """Git-attributes style match: slash-less patterns match the basename at any depth."""
        if "/" not in pattern:
            return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
        pattern = pattern.lstrip("/")
        return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))

    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        self._require_auth()
        payload = self._read_json()
        state = self.state
        repo, commit, files = state.snapshot(repo_type, repo_id, revision)
        patterns = self._lfs_patterns(files)
        out = []
        for item in payload.get("files", []):
            path = str(item["path"])
            size = int(item.get("size", 0))
            sample = base64.b64decode(item.get("sample", ""))
            is_lfs = size >= LFS_SIZE_THRESHOLD or b"\x00" in sample or any(self._matches(path, p) for p in patterns)
            existing = files.get(path)
            remote_oid = None
            if existing is not None:
                remote_oid = existing.sha256 if existing.is_lfs else existing.oid
            out.append(
                {"path": path, "uploadMode": "lfs" if is_lfs else "regular", "shouldIgnore": False, "oid": remote_oid}
            )
        self._send_json({"files": out, "commitOid": commit.oid})

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        self._require_auth()
        raw = self._read_body()
        try:
            lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise HubError(400, f"Invalid ndjson commit payload: {error}") from error
        create_pr = self._query.get("create_pr", "") in ("1", "true")
        commit, pr_number = self.state.commit(repo_type, repo_id, revision, lines, create_pr)
        repo_url = f"{self.hub.url}/{_URL_PREFIX[repo_type]}{repo_id}"
        response: dict[str, Any] = {
            "success": True,
            "commitOid": commit.oid,
            "commitUrl": f"{repo_url}/commit/{commit.oid}",
            "hookOutput": "",
        }
        if pr_number is not None:
            response["pullRequestUrl"] = f"{repo_url}/discussions/{pr_number}"
        self._send_json(response)

    def _refs(self, repo_type: str, repo_id: str) -> None:
        state = self.state
        with state.lock:
            repo = state.get_repo(repo_type, repo_id)
            branches = [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": c} for n, c in repo.branches.items()]
            tags = [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": c} for n, c in repo.tags.items()]
            prs = [
                {"name": f"refs/pr/{n}", "ref": f"refs/pr/{n}", "targetCommit": c}
                for n, c in repo.pull_requests.items()
            ]
        payload: dict[str, Any] = {"branches": branches, "converts": [], "tags": tags}
        if self._query.get("include_prs"):
            payload["pullRequests"] = prs
        self._send_json(payload)

    def _commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        state = self.state
        history = []
        with state.lock:
            repo = state.get_repo(repo_type, repo_id)
            oid: str | None = state.resolve_revision(repo, revision)
            while oid is not None:
                commit = repo.commits[oid]
                history.append(
                    {
                        "id": commit.oid,
                        "title": commit.title,
                        "message": commit.message,
                        "date": commit.date,
                        "authors": [{"user": commit.author}],
                    }
                )
                oid = commit.parent
        self._send_json(history)

    def _branch(self, method: str, repo_type: str, repo_id: str, branch: str) -> None:
        self._require_auth()
        payload = self._read_json() if method == "POST" else {}
        state = self.state
        with state.lock:
            repo = state.get_repo(repo_type, repo_id)
            if method == "DELETE":
                if branch not in repo.branches:
                    raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
                if branch == "main":
                    raise HubError(403, "Cannot delete the default branch")
                del repo.branches[branch]
            else:
                if branch in repo.branches:
                    raise HubError(409, f"Branch {branch} already exists")
                start = payload.get("startingPoint") or "main"
                repo.branches[branch] = state.resolve_revision(repo, start)
        self._send_json({})

    def _tag(self, repo_type: str, repo_id: str, revision: str) -> None:
        self._require_auth()
        payload = self._read_json()
        state = self.state
        with state.lock:
            repo = state.get_repo(repo_type, repo_id)
            tag = str(payload.get("tag") or "")
            if not tag:
                raise HubError(400, "Missing tag name")
            if tag in repo.tags:
                raise HubError(409, f"Tag {tag} already exists")
            repo.tags[tag] = state.resolve_revision(repo, revision)
        self._send_json({})

    # --------------------------------------------------------------------------------------------------- LFS
    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        self._require_auth()
        payload = self._read_json()
        state = self.state
        with state.lock:
            state.get_repo(repo_type, repo_id)
        if payload.get("operation") != "upload":
            raise HubError(400, "Only the 'upload' operation is supported")
        objects = []
        for obj in payload.get("objects", []):
            oid, size = str(obj.get("oid", "")), int(obj.get("size", -1))
            if not re.fullmatch(r"[0-9a-f]{64}", oid) or size < 0:
                objects.append({"oid": oid, "size": size, "error": {"code": 422, "message": "Invalid object"}})
                continue
            if state.lfs_path(oid).is_file():
                objects.append({"oid": oid, "size": size})  # already stored: no "actions" -> client skips upload
                continue
            with state.lock:
                state.pending_lfs[oid] = size
            objects.append(
                {
                    "oid": oid,
                    "size": size,
                    "authenticated": True,
                    "actions": {
                        "upload": {"href": f"{self.hub.url}/_lfs/objects/{oid}", "header": {}},
                        "verify": {"href": f"{self.hub.url}/_lfs/verify", "header": {}},
                    },
                }
            )
        body = json.dumps({"transfer": "basic", "objects": objects}).encode()
        self._send(200, body, content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, oid: str) -> None:
        state = self.state
        if not re.fullmatch(r"[0-9a-f]{64}", oid):
            raise HubError(400, "Invalid LFS oid")
        hasher = _HashingSink(state.tmp_dir)
        try:
            size = self._read_body_to(hasher)
            hasher.close()
            if hasher.sha256 != oid:
                raise HubError(400, f"LFS content does not match oid {oid} (got {hasher.sha256})")
            with state.lock:
                expected = state.pending_lfs.get(oid)
            if expected is not None and expected != size:
                raise HubError(400, f"LFS size mismatch for {oid}: expected {expected}, got {size}")
            os.replace(hasher.path, state.lfs_path(oid))
        finally:
            hasher.discard()
        with state.lock:
            state.pending_lfs.pop(oid, None)
        self._send(200, b"", headers={"ETag": f'"{oid}"'})

    def _lfs_verify(self) -> None:
        self._require_auth()
        payload = self._read_json()
        path = self.state.lfs_path(str(payload.get("oid", "")))
        if not path.is_file() or path.stat().st_size != int(payload.get("size", -1)):
            raise HubError(404, f"LFS object {payload.get('oid')} not found")
        self._send_json({"success": True})

    # ---------------------------------------------------------------------------------------------- resolve
    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        state = self.state
        with state.lock:
            repo = state.get_repo(repo_type, repo_id)
            commit = state.commit_at(repo, revision)
            entry = commit.files.get(path)
        headers = {"X-Repo-Commit": commit.oid}
        if entry is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", headers)
        etag = entry.sha256 if entry.sha256 is not None else entry.oid
        headers["ETag"] = f'"{etag}"'
        headers["Accept-Ranges"] = "bytes"
        filename = path.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}; filename=\"{filename}\";"
        if entry.is_lfs:
            headers["X-Linked-Etag"] = f'"{entry.sha256}"'
            headers["X-Linked-Size"] = str(entry.size)
        start, end, status = 0, entry.size - 1, 200
        range_header = self.headers.get("Range")
        if range_header:
            match = _RANGE_RE.match(range_header.strip())
            if match is None:
                raise HubError(416, f"Unsupported range: {range_header}", headers={"Content-Range": f"*/{entry.size}"})
            first, last = match.groups()
            if first == "" and last != "":
                start, end = max(entry.size - int(last), 0), entry.size - 1
            else:
                start = int(first or 0)
                end = min(int(last), entry.size - 1) if last else entry.size - 1
            if start >= entry.size or start > end:
                raise HubError(416, "Range not satisfiable", headers={"Content-Range": f"bytes */{entry.size}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
        length = max(end - start + 1, 0)
        self._read_body()
        self._start_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            return
        with open(state.content_path(entry), "rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining:
                chunk = handle.read(min(remaining, _CHUNK))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


class _BytesSink:
    """Minimal writable buffer (avoids io.BytesIO copies for the common small-body case)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(data)
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class _HashingSink:
    """Temp file that hashes what is written, so large LFS uploads are never held in memory."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(dir=directory)
        self.path = name
        self._handle = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.sha256 = ""

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        return self._handle.write(data)

    def close(self) -> None:
        self._handle.close()
        self.sha256 = self._hash.hexdigest()

    def discard(self) -> None:
        if not self._handle.closed:
            self._handle.close()
        if os.path.exists(self.path):
            os.remove(self.path)


class LocalHubServer:
    """In-process Hub-compatible server on ``127.0.0.1`` with a free port.

    Usage::

        with LocalHubServer() as hub:
            os.environ["HF_ENDPOINT"] = hub.url  # or use the ``local_hub`` fixture, which also patches constants
            ...

    Storage is a temp directory (removed on ``stop()`` unless ``storage_dir`` was given). Each commit gets a new
    sha; revisions resolve by branch, tag, PR ref or (short) sha. Any ``Bearer`` token is accepted and maps to
    ``user``; write endpoints reject requests without a token, like the Hub.
    """

    def __init__(self, storage_dir: str | os.PathLike[str] | None = None, user: str = DEFAULT_USER) -> None:
        self._owns_storage = storage_dir is None
        self._storage_dir = Path(storage_dir) if storage_dir is not None else None
        self._user = user
        self._state: _HubState | None = None
        self._httpd: _HubHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()

    # -------------------------------------------------------------------------------------------- lifecycle
    def start(self) -> LocalHubServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread. Returns ``self`` for chaining."""
        if self._httpd is not None:
            raise RuntimeError("LocalHubServer is already running")
        if self._storage_dir is None:
            self._storage_dir = Path(tempfile.mkdtemp(prefix="vlaser-local-hub-"))
        self._storage_dir.mkdir(parents=True, exist_ok=True)
        if self._state is None:
            self._state = _HubState(self._storage_dir, self._user)
        httpd = self._httpd = _HubHTTPServer(self)
        # A short poll interval keeps stop() fast (the default 0.5 s would dominate small tests).
        self._thread = threading.Thread(
            target=lambda: httpd.serve_forever(poll_interval=0.02), name="local-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open keep-alive connections, so clients really see the Hub go away."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with httpd.connections_lock:
            connections = list(httpd.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._owns_storage and self._storage_dir is not None:
            shutil.rmtree(self._storage_dir, ignore_errors=True)
            self._storage_dir = None
            self._state = None

    def __enter__(self) -> LocalHubServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("LocalHubServer is not running")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """Endpoint to use as ``HF_ENDPOINT`` (no trailing slash)."""
        host, port = self.address
        return f"http://{host}:{port}"

    @property
    def user(self) -> str:
        return self._user

    # --------------------------------------------------------------------------------------- request log
    def _record(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(record)

    @property
    def request_log(self) -> list[RequestRecord]:
        """A snapshot of every request handled so far (method, raw path, status)."""
        with self._log_lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def requests_matching(self, method: str, path_contains: str) -> list[RequestRecord]:
        return [r for r in self.request_log if r.method == method and path_contains in r.path]

    # ----------------------------------------------------------------------------------------- inspection
    def _require_state(self) -> _HubState:
        if self._state is None:
            raise RuntimeError("LocalHubServer has no storage (not started, or stopped)")
        return self._state

    def repo_exists(self, repo_id: str, repo_type: str = "model") -> bool:
        state = self._require_state()
        with state.lock:
            return (repo_type, repo_id) in state.repos

    def list_files(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> dict[str, FileEntry]:
        """Server-side view of a revision's files, to check what a client really committed."""
        state = self._require_state()
        with state.lock:
            return dict(state.commit_at(state.get_repo(repo_type, repo_id), revision).files)

    def read_file(self, repo_id: str, path: str, repo_type: str = "model", revision: str = "main") -> bytes:
        entry = self.list_files(repo_id, repo_type, revision).get(path)
        if entry is None:
            raise FileNotFoundError(f"{repo_type}s/{repo_id}@{revision}: {path}")
        return self._require_state().content_path(entry).read_bytes()

    def head_sha(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> str:
        state = self._require_state()
        with state.lock:
            return state.resolve_revision(state.get_repo(repo_type, repo_id), revision)

    def commit_titles(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> list[str]:
        """Commit titles from newest to oldest (the first commit is the Hub's ``initial commit``)."""
        state = self._require_state()
        with state.lock:
            repo = state.get_repo(repo_type, repo_id)
            oid: str | None = state.resolve_revision(repo, revision)
            titles = []
            while oid is not None:
                titles.append(repo.commits[oid].title)
                oid = repo.commits[oid].parent
            return titles

    def iter_repos(self) -> Iterator[tuple[str, str]]:
        """``(repo_type, repo_id)`` of every repository."""
        state = self._require_state()
        with state.lock:
            yield from list(state.repos)
