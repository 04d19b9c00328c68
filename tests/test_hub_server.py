"""Tests of the local Hub double, driven by the real ``huggingface_hub``, ``transformers`` and ``datasets`` clients.

Why real clients: the server is only useful if the exact code paths the project uses (LFS routing, cache layout,
error mapping to ``EntryNotFoundError`` etc.) work against it, so every test goes through the public client APIs
and, where it matters, checks the server side too (what was committed, whether the LFS transfer was used).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import socket
import threading
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    HfFileSystem,
    ModelCard,
    ModelCardData,
    constants,
    create_repo,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import _CACHED_NO_EXIST, try_to_load_from_cache

from tests.hub_fixtures import LocalHub, local_hub_session  # the `local_hub` fixture comes from conftest.py
from tests.hub_server import LocalHubServer


def _lfs_uploads(hub: LocalHub) -> set[str]:
    """sha256 of every object uploaded through the git-LFS basic transfer (PUT to the batch API's href)."""
    return {r.path.rsplit("/", 1)[-1] for r in hub.server.requests_matching("PUT", "/_lfs/objects/") if r.status == 200}


def _write_model_folder(folder: Path) -> dict[str, bytes]:
    files = {
        "config.json": b'{"hidden_size": 32}\n',
        "model.safetensors": os.urandom(2048),  # LFS by .gitattributes pattern
        "data/stats.npz": b"PK" + os.urandom(512),  # LFS by pattern, in a sub-folder
        "docs/notes.txt": b"plain text stays a regular git blob\n",
    }
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return files


# --------------------------------------------------------------------------------------------------- server basics
def test_server_binds_loopback_and_really_stops() -> None:
    with LocalHubServer() as server:
        host, port = server.address
        assert host == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{port}"
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/api/whoami-v2")  # no token
        response = conn.getresponse()
        response.read()
        assert response.status == 401
        conn.request("GET", "/api/whoami-v2", headers={"Authorization": "Bearer anything"})
        response = conn.getresponse()
        assert json.loads(response.read())["name"] == "vlaser-tester"
    # the keep-alive connection opened above is cut, and nothing listens any more
    with pytest.raises((OSError, http.client.HTTPException)):
        conn.request("GET", "/api/whoami-v2", headers={"Authorization": "Bearer anything"})
        conn.getresponse().read()
    with pytest.raises(OSError), socket.create_connection((host, port), timeout=2):
        pass


def test_fixture_patches_and_restores_client_state(tmp_path: Path) -> None:
    import datasets.config
    import transformers.utils.hub as transformers_hub

    before = (constants.ENDPOINT, constants.HF_HUB_CACHE, datasets.config.HF_ENDPOINT, os.environ.get("HF_ENDPOINT"))
    with local_hub_session(tmp_path) as hub:
        assert constants.ENDPOINT == datasets.config.HF_ENDPOINT == os.environ["HF_ENDPOINT"] == hub.url
        assert constants.HF_HUB_CACHE == str(hub.cache_dir)
        assert transformers_hub.hf_api().endpoint == hub.url
        assert not constants.is_offline_mode()
        with hub.offline():
            assert constants.is_offline_mode() and datasets.config.HF_HUB_OFFLINE
        assert not constants.is_offline_mode() and not datasets.config.HF_HUB_OFFLINE
    after = (constants.ENDPOINT, constants.HF_HUB_CACHE, datasets.config.HF_ENDPOINT, os.environ.get("HF_ENDPOINT"))
    assert after == before


# ------------------------------------------------------------------------------------------ repos and identity
def test_whoami_and_repo_creation_for_all_repo_types(local_hub: LocalHub) -> None:
    api = HfApi()
    assert api.whoami()["name"] == "vlaser-tester"

    url = create_repo("tiny")  # no namespace: the server puts it under the token's user
    assert url.repo_id == "vlaser-tester/tiny" and url.startswith(local_hub.url)
    with pytest.raises(HfHubHTTPError) as conflict:
        create_repo("tiny")
    assert conflict.value.response.status_code == 409
    assert create_repo("tiny", exist_ok=True).repo_id == "vlaser-tester/tiny"

    dataset_url = api.create_repo("tiny-data", repo_type="dataset")
    assert dataset_url.repo_type == "dataset" and "/datasets/vlaser-tester/tiny-data" in dataset_url
    space_url = api.create_repo("tiny-space", repo_type="space", space_sdk="gradio")
    assert space_url.repo_type == "space"
    assert api.space_info("vlaser-tester/tiny-space").sdk == "gradio"

    info = api.repo_info("vlaser-tester/tiny")
    assert info.sha == local_hub.server.head_sha("vlaser-tester/tiny")
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]  # the Hub's initial commit
    assert api.dataset_info("vlaser-tester/tiny-data").sha is not None
    assert api.repo_exists("vlaser-tester/tiny-data", repo_type="dataset")
    assert not api.repo_exists("vlaser-tester/tiny-data")  # wrong type: a model of that name does not exist

    with pytest.raises(RepositoryNotFoundError):
        api.model_info("vlaser-tester/missing")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("vlaser-tester/tiny", revision="no-such-branch")
    with pytest.raises(HfHubHTTPError) as unauthorized:
        HfApi(token=False).create_repo("anonymous")
    assert unauthorized.value.response.status_code == 401

    api.delete_repo("vlaser-tester/tiny-space", repo_type="space")
    assert not api.repo_exists("vlaser-tester/tiny-space", repo_type="space")


# ------------------------------------------------------------------------------------ upload / download / cache
def test_upload_routes_binary_files_through_lfs_and_downloads_match(local_hub: LocalHub, tmp_path: Path) -> None:
    api = HfApi()
    repo_id = api.create_repo("weights").repo_id
    folder = tmp_path / "upload"
    files = _write_model_folder(folder)
    first = api.upload_folder(folder_path=folder, repo_id=repo_id, commit_message="add weights")

    # LFS: exactly the two binary files went through batch + PUT, with their sha256 as oid
    expected_lfs = {hashlib.sha256(files[p]).hexdigest() for p in ("model.safetensors", "data/stats.npz")}
    assert _lfs_uploads(local_hub) == expected_lfs
    server_files = local_hub.server.list_files(repo_id)
    assert {p for p, e in server_files.items() if e.is_lfs} == {"model.safetensors", "data/stats.npz"}
    assert local_hub.server.read_file(repo_id, "model.safetensors") == files["model.safetensors"]

    # listing: folders, LFS metadata, 404 EntryNotFound for a missing folder
    tree = {entry.path: entry for entry in api.list_repo_tree(repo_id, recursive=True)}
    assert set(tree) == {".gitattributes", "config.json", "model.safetensors", "data", "docs"} | {
        "data/stats.npz",
        "docs/notes.txt",
    }
    assert tree["model.safetensors"].lfs.sha256 == hashlib.sha256(files["model.safetensors"]).hexdigest()
    assert tree["config.json"].lfs is None and tree["config.json"].size == len(files["config.json"])
    assert [e.path for e in api.list_repo_tree(repo_id, path_in_repo="docs")] == ["docs/notes.txt"]
    assert {e.path for e in api.list_repo_tree(repo_id)} == {".gitattributes", "config.json", "model.safetensors"} | {
        "data",
        "docs",
    }
    # Remote* (not Local*): the error must come from the server's 404 + X-Error-Code, not from a cache fallback
    with pytest.raises(RemoteEntryNotFoundError):
        list(api.list_repo_tree(repo_id, path_in_repo="no-such-folder"))
    infos = api.get_paths_info(repo_id, ["config.json", "data", "missing.txt"], expand=True)
    assert [i.path for i in infos] == ["config.json", "data"]
    assert infos[0].last_commit.oid == first.oid

    # resolve: headers like the Hub (commit, etag, linked etag/size for LFS), bytes identical
    meta = get_hf_file_metadata(hf_hub_url(repo_id, "model.safetensors"))
    assert meta.commit_hash == first.oid
    assert meta.etag == hashlib.sha256(files["model.safetensors"]).hexdigest()
    assert meta.size == len(files["model.safetensors"])
    for name, content in files.items():
        assert Path(hf_hub_download(repo_id, name)).read_bytes() == content
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(repo_id, "missing.bin")
    assert try_to_load_from_cache(repo_id, "missing.bin") is _CACHED_NO_EXIST  # needs X-Repo-Commit on the 404

    # a second commit gets a new sha; old content stays reachable by sha, branch moves
    second = api.upload_file(path_or_fileobj=b'{"hidden_size": 64}\n', path_in_repo="config.json", repo_id=repo_id)
    assert second.oid != first.oid
    assert Path(hf_hub_download(repo_id, "config.json")).read_bytes() == b'{"hidden_size": 64}\n'
    assert Path(hf_hub_download(repo_id, "config.json", revision=first.oid)).read_bytes() == files["config.json"]
    assert Path(hf_hub_download(repo_id, "config.json", revision=first.oid[:7])).read_bytes() == files["config.json"]
    assert [c.commit_id for c in api.list_repo_commits(repo_id)][:2] == [second.oid, first.oid]

    # identical LFS content is neither re-uploaded nor re-committed (preupload reports the remote oid)
    uploads_before = len(_lfs_uploads(local_hub))
    weights = files["model.safetensors"]
    again = api.upload_file(path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id=repo_id)
    assert again.oid == second.oid and len(_lfs_uploads(local_hub)) == uploads_before

    # range requests (used by HfFileSystem / streaming readers)
    with HfFileSystem().open(f"{repo_id}/model.safetensors", "rb", block_size=64) as handle:
        handle.seek(100)
        assert handle.read(50) == files["model.safetensors"][100:150]


def test_snapshot_download_then_offline_from_cache_after_server_stop(local_hub: LocalHub, tmp_path: Path) -> None:
    api = HfApi()
    repo_id = api.create_repo("offline").repo_id
    files = _write_model_folder(tmp_path / "upload")
    api.upload_folder(folder_path=tmp_path / "upload", repo_id=repo_id)
    snapshot = Path(snapshot_download(repo_id))
    assert snapshot.is_relative_to(local_hub.cache_dir)
    assert all((snapshot / name).read_bytes() == content for name, content in files.items())

    local_hub.stop()
    assert Path(snapshot_download(repo_id, local_files_only=True)) == snapshot
    with local_hub.offline():
        assert Path(snapshot_download(repo_id)) == snapshot
        assert Path(hf_hub_download(repo_id, "model.safetensors")).read_bytes() == files["model.safetensors"]


def test_concurrent_commits_and_parent_commit_check(local_hub: LocalHub) -> None:
    api = HfApi()
    repo_id = api.create_repo("busy").repo_id
    initial = local_hub.server.head_sha(repo_id)
    errors: list[BaseException] = []

    def upload(i: int) -> None:
        try:
            api.upload_file(path_or_fileobj=f"file {i}\n".encode(), path_in_repo=f"f{i}.txt", repo_id=repo_id)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert {f"f{i}.txt" for i in range(8)} <= set(local_hub.server.list_files(repo_id))
    assert len(local_hub.server.commit_titles(repo_id)) == 9

    with pytest.raises(HfHubHTTPError) as stale:
        api.create_commit(
            repo_id,
            operations=[CommitOperationAdd("late.txt", b"late\n")],
            commit_message="stale parent",
            parent_commit=initial,
        )
    assert stale.value.response.status_code == 412


# ------------------------------------------------------------------------------------------------- model cards
def test_model_card_push_and_load(local_hub: LocalHub) -> None:
    repo_id = create_repo("carded").repo_id
    with pytest.raises(RemoteEntryNotFoundError):  # what transformers' create_and_tag_model_card expects
        ModelCard.load(repo_id)

    card = ModelCard.from_template(
        ModelCardData(license="apache-2.0", library_name="transformers", pipeline_tag="robotics", tags=["vlaser"]),
        model_description="A tiny test model.",
    )
    card.push_to_hub(repo_id)
    loaded = ModelCard.load(repo_id)
    assert loaded.data.license == "apache-2.0" and loaded.data.tags == ["vlaser"]
    assert "A tiny test model." in loaded.text
    info = HfApi().model_info(repo_id)
    assert info.card_data.pipeline_tag == "robotics" and info.pipeline_tag == "robotics"

    with pytest.raises(ValueError, match="Invalid metadata"):  # the server's validate-yaml rejects it
        HfApi().upload_file(path_or_fileobj=b"---\nlicense: [oops\n---\n", path_in_repo="README.md", repo_id=repo_id)


# ------------------------------------------------------------------------------------------------ transformers
def test_transformers_push_to_hub_and_from_pretrained(local_hub: LocalHub) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=100,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    model = Qwen2ForCausalLM(config)
    commit = model.push_to_hub("tiny-qwen2")  # namespace from whoami, like on the Hub
    repo_id = local_hub.repo_id("tiny-qwen2")
    assert commit.repo_url.repo_id == repo_id

    files = local_hub.server.list_files(repo_id)
    assert files["model.safetensors"].is_lfs and not files["config.json"].is_lfs
    assert "README.md" in files  # transformers' auto-generated card

    def assert_same_weights(other: Qwen2ForCausalLM) -> None:
        reference = model.state_dict()
        loaded_state = other.state_dict()
        assert reference.keys() == loaded_state.keys()
        for name, tensor in reference.items():
            assert torch.equal(tensor, loaded_state[name]), name

    assert_same_weights(Qwen2ForCausalLM.from_pretrained(repo_id))
    local_hub.stop()
    with local_hub.offline():
        assert_same_weights(Qwen2ForCausalLM.from_pretrained(repo_id))


# ----------------------------------------------------------------------------------------------------- datasets
def test_datasets_push_two_configs_and_load_them_back(local_hub: LocalHub) -> None:
    import numpy as np
    from datasets import Dataset, Features, Image, Value, get_dataset_config_names, load_dataset
    from PIL import Image as PILImage

    def make(colors: list[tuple[int, int, int]]) -> Dataset:
        images = [PILImage.new("RGB", (4, 3), color) for color in colors]
        features = Features({"image": Image(), "label": Value("int64")})
        return Dataset.from_dict({"image": images, "label": list(range(len(colors)))}, features=features)

    repo_id = local_hub.repo_id("tiny-episodes")
    colors_a = [(255, 0, 0), (0, 255, 0)]
    colors_b = [(0, 0, 255), (10, 20, 30), (200, 100, 0)]
    make(colors_a).push_to_hub(repo_id, config_name="a")
    make(colors_b).push_to_hub(repo_id, config_name="b")

    files = local_hub.server.list_files(repo_id, repo_type="dataset")
    parquet = [p for p in files if p.endswith(".parquet")]
    assert len(parquet) == 2 and all(files[p].is_lfs for p in parquet)
    assert {hashlib.sha256(local_hub.server.read_file(repo_id, p, "dataset")).hexdigest() for p in parquet} <= (
        _lfs_uploads(local_hub)
    )

    assert sorted(get_dataset_config_names(repo_id)) == ["a", "b"]
    for config_name, colors in (("a", colors_a), ("b", colors_b)):
        loaded = load_dataset(repo_id, config_name, split="train")
        assert loaded["label"] == list(range(len(colors)))
        for row, color in zip(loaded, colors, strict=True):
            assert np.array_equal(np.asarray(row["image"]), np.asarray(PILImage.new("RGB", (4, 3), color)))

    streamed = load_dataset(repo_id, "b", split="train", streaming=True)
    assert [row["label"] for row in streamed] == [0, 1, 2]


def test_raw_http_details(local_hub: LocalHub) -> None:
    """Behaviour other clients rely on: Range/206, HEAD without body, X-Error-Code on 404s, chunked uploads."""
    from huggingface_hub.utils import get_session

    api = HfApi()
    repo_id = api.create_repo("raw", repo_type="dataset").repo_id
    payload = bytes(range(256)) * 4
    api.upload_file(path_or_fileobj=io.BytesIO(payload), path_in_repo="blob.bin", repo_id=repo_id, repo_type="dataset")
    url = f"{local_hub.url}/datasets/{repo_id}/resolve/main/blob.bin"
    session = get_session()

    response = session.get(url, headers={"Range": "bytes=10-19"})
    assert response.status_code == 206 and response.content == payload[10:20]
    assert response.headers["Content-Range"] == f"bytes 10-19/{len(payload)}"
    assert session.get(url, headers={"Range": "bytes=-5"}).content == payload[-5:]
    assert session.get(url, headers={"Range": f"bytes={len(payload)}-"}).status_code == 416

    head = session.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["X-Linked-Size"] == str(len(payload))  # blob.bin is LFS (binary content)
    assert head.headers["X-Linked-Etag"] == f'"{hashlib.sha256(payload).hexdigest()}"'
    assert head.headers["X-Repo-Commit"] == local_hub.server.head_sha(repo_id, "dataset")

    missing = session.head(f"{local_hub.url}/datasets/{repo_id}/resolve/main/nope.txt")
    assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"
    tree = session.get(f"{local_hub.url}/api/datasets/{repo_id}/tree/main/nope")
    assert tree.status_code == 404 and tree.headers["X-Error-Code"] == "EntryNotFound"
    repo = session.get(f"{local_hub.url}/api/models/{repo_id}")
    assert repo.status_code == 404 and repo.headers["X-Error-Code"] == "RepoNotFound"

    # basic-transfer PUT with chunked transfer encoding (a streamed body without Content-Length)
    content = b"streamed " * 1000
    oid = hashlib.sha256(content).hexdigest()
    batch = session.post(
        f"{local_hub.url}/datasets/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(content)}]},
        headers={"Authorization": f"Bearer {local_hub.token}"},
    )
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]
    put = session.put(href, content=iter([content[:100], content[100:]]))
    assert put.status_code == 200 and "Content-Length" not in put.request.headers
    assert put.request.headers.get("Transfer-Encoding") == "chunked"
    assert local_hub.server.requests_matching("PUT", oid)[-1].status == 200
    bad = session.put(href, content=b"not the announced content")
    assert bad.status_code == 400
