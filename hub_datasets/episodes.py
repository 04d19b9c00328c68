"""Robot episodes in the LeRobot v3.0 layout: the project's own small reader and writer.

Why our own: the ``lerobot`` package pins datasets<5, huggingface-hub<0.36 and torch<2.11, which conflict with our
stack, and all we need from it is the file format. This is the one module that touches the layout's files:
``simulation`` records through :class:`LeRobotEpisodeWriter`; training stage 2 and the in-domain QA engine read
through :class:`LeRobotEpisodes`.

The layout, as lerobot 0.4.4 writes it (``../shared/fixtures/lerobot_v3`` holds two examples)::

    meta/info.json                              codebase_version, fps, features, path templates, totals
    meta/stats.json                             per-feature statistics over the whole dataset
    meta/tasks.parquet                          task text (the pandas index) -> task_index
    meta/episodes/chunk-XXX/file-XXX.parquet    one row per episode: length, global index range, the data and
                                                video files holding it, per-episode statistics
    data/chunk-XXX/file-XXX.parquet             one row per frame (images as PNG structs {bytes, path})
    videos/<camera>/chunk-XXX/file-XXX.mp4      video datasets: many episodes per file, located by the
                                                from/to timestamps in the episodes metadata

The writer stores camera frames as PNG inside the data parquet (lossless, and no video encoder on the recording
machine) and gives every episode its own data file and its own episodes-metadata file (a new file index per episode
is valid v3). Every file is written under a hidden temporary name and atomically renamed; the episodes-metadata file
is the commit record. A run killed mid-episode therefore loses only that episode, and
:meth:`LeRobotEpisodeWriter.open` removes the leftovers and continues with the next episode index.

How ``meta/stats.json`` aggregates: min, max, mean, std (population) and count are exact over all frames. For the
low-dimensional features (state, action, indices, extra scalars and vectors) the quantiles q01/q10/q50/q90/q99 are
exact as well: the writer keeps those values in memory and recomputes ``numpy.quantile`` (linear interpolation) over
all frames after every episode. lerobot 0.4.4 instead averages per-episode quantiles weighted by frame count, which
is not a quantile of the union (its fixture reports an action q01 of 10.95 for values spanning 0…26.7). Camera
features keep lerobot's rule: per-episode, per-channel statistics of up to 100 frames downscaled to at most 150
pixels a side, in [0, 1], shaped (3, 1, 1); their dataset quantiles are the count-weighted mean of the episodes'.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "ACTION_KEY",
    "ANNOTATIONS_KEY",
    "CODEBASE_VERSION",
    "IMAGE_KEY_PREFIX",
    "STATE_KEY",
    "LeRobotEpisodeWriter",
    "LeRobotEpisodes",
    "LeRobotFormatError",
]

CODEBASE_VERSION = "v3.0"
STATE_KEY = "observation.state"
ACTION_KEY = "action"
IMAGE_KEY_PREFIX = "observation.images."
ANNOTATIONS_KEY = "annotations"
DEFAULT_CHUNKS_SIZE = 1000
DEFAULT_DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
STAT_NAMES = ("min", "max", "mean", "std", "count", *QUANTILES)
# Columns every v3 data file has; the writer sets them, callers never do.
INDEX_KEYS = ("timestamp", "frame_index", "episode_index", "index", "task_index")
_INDEX_FEATURES = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
_NUMERIC_DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "float16",
    "float32",
    "float64",
)
_CAMERA_DTYPES = ("image", "video")
_IMAGE_STATS_MAX_FRAMES = 100
_IMAGE_STATS_MAX_SIDE = 150
_TEMP_MARK = ".tmp-"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class LeRobotFormatError(ValueError):
    """A LeRobot dataset file is unreadable or holds something other than the v3 layout expects."""


# ---------------------------------------------------------------------------------------------------- file helpers
def _temp_path(path: Path) -> Path:
    # Hidden (leading dot), so neither our globs (`file-*.parquet`), `datasets` nor `upload_folder` pick it up.
    return path.with_name(f".{path.name}{_TEMP_MARK}{os.getpid()}")


def _fsync_path(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # directories cannot be opened on some platforms; durability is then best effort
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through `write(temp_path)`, flush to disk, then rename over `path`: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_path(path)
    try:
        write(temp)
        _fsync_path(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_path(path.parent)


def _atomic_write_text(path: Path, text: str) -> None:
    _atomic_write(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise LeRobotFormatError(f"{path}: not valid JSON ({err})") from err


def _read_schema(path: Path, what: str) -> pa.Schema:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} is missing")
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as err:
        raise LeRobotFormatError(f"corrupt parquet file {path} ({what}): {err}") from err


def _read_parquet(path: Path, what: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Read a parquet file; a missing column is reported by name, a damaged file as corrupt."""
    schema = _read_schema(path, what)
    if columns is not None:
        missing = [name for name in columns if name not in schema.names]
        if missing:
            raise LeRobotFormatError(
                f"{path} ({what}): missing column(s) {missing}; the file has columns {schema.names}"
            )
    try:
        return pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (pa.ArrowException, OSError) as err:
        raise LeRobotFormatError(f"corrupt parquet file {path} ({what}): {err}") from err


def _column_to_numpy(column: pa.ChunkedArray | pa.Array, dtype: str | None = None) -> np.ndarray:
    """Arrow column -> numpy; fixed-size lists become (rows, length) arrays."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = array.type
    if pa.types.is_fixed_size_list(kind):
        values = array.flatten().to_numpy(zero_copy_only=False).reshape(len(array), kind.list_size)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = np.array(array.to_pylist())
    else:
        values = array.to_numpy(zero_copy_only=False)
    if dtype is not None and dtype in _NUMERIC_DTYPES:
        values = values.astype(dtype, copy=False)
    return values


def _check_codebase_version(info: Mapping[str, Any], path: Path) -> None:
    version = info.get("codebase_version")
    if not isinstance(version, str) or not version.startswith("v3."):
        raise LeRobotFormatError(
            f"{path}: codebase_version {version!r} is not supported: expected v3.x (convert v2.x datasets with "
            "lerobot's `convert_dataset_v21_to_v30` script first)"
        )


def _resolve_root(source: str | os.PathLike[str], revision: str | None, token: str | bool | None) -> Path:
    """A local folder if `source` exists or looks like a path; otherwise a Hub dataset repo id, fetched (or taken from
    the HF cache under HF_HUB_OFFLINE=1) with `snapshot_download`."""
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.exists() or not _REPO_ID.match(text):
        if not (path / "meta" / "info.json").is_file():
            raise FileNotFoundError(f"no LeRobot dataset at {path}: expected meta/info.json")
        return path
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    try:
        local = snapshot_download(text, repo_type="dataset", revision=revision, token=token)
    except (HfHubHTTPError, LocalEntryNotFoundError, HFValidationError) as err:
        raise FileNotFoundError(
            f"no LeRobot dataset at {text}: not a local folder, and the Hub dataset repo could not be fetched "
            f"({type(err).__name__}: {err})"
        ) from err
    root = Path(local)
    if not (root / "meta" / "info.json").is_file():
        raise FileNotFoundError(f"no LeRobot dataset at {text} (Hub dataset repo): expected meta/info.json")
    return root


def _decode_image(cell: Mapping[str, Any] | None, root: Path, where: str) -> np.ndarray:
    """A `datasets` Image struct {bytes, path} -> HxWx3 uint8."""
    from PIL import Image

    if cell is None:
        raise LeRobotFormatError(f"{where}: image is null")
    data, rel_path = cell.get("bytes"), cell.get("path")
    try:
        if data is not None:
            image = Image.open(io.BytesIO(data))
        elif rel_path:
            image = Image.open(root / rel_path)
        else:
            raise LeRobotFormatError(f"{where}: image struct has neither bytes nor path")
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as err:
        if isinstance(err, LeRobotFormatError):
            raise
        raise LeRobotFormatError(f"{where}: cannot decode image ({err})") from err


def _decode_video_frames(path: Path, targets: np.ndarray, tolerance: float) -> np.ndarray:
    """Decode the frames of `path` nearest to each timestamp in `targets` (seconds), within `tolerance`.

    One seek to the keyframe before the first target, then a single forward decode to the last one: an episode costs
    its own length, not the length of the file before it.
    """
    import av

    if not path.is_file():
        raise FileNotFoundError(f"{path}: video file is missing")
    first, last = float(targets.min()) - tolerance, float(targets.max()) + tolerance
    times: list[float] = []
    images: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise LeRobotFormatError(f"{path}: no video stream")
            stream = container.streams.video[0]
            time_base = stream.time_base
            if first > 0:
                container.seek(int(first / time_base), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                seconds = float(frame.pts * time_base)
                if seconds < first:
                    continue
                if seconds > last:
                    break
                times.append(seconds)
                images.append(frame.to_ndarray(format="rgb24"))
    except av.FFmpegError as err:
        raise LeRobotFormatError(f"cannot decode video {path}: {err}") from err
    if not times:
        raise LeRobotFormatError(f"{path}: no frames between {first:.4f} s and {last:.4f} s")
    order = np.argsort(times)
    sorted_times = np.asarray(times)[order]
    picked = []
    for target in targets:
        right = int(np.searchsorted(sorted_times, target))
        candidates = [j for j in (right - 1, right) if 0 <= j < len(sorted_times)]
        best = min(candidates, key=lambda j: abs(sorted_times[j] - target))
        if abs(sorted_times[best] - target) > tolerance + 1e-6:
            raise LeRobotFormatError(
                f"{path}: no frame within half a frame ({tolerance:.4f} s) of timestamp {target:.4f} s; the nearest "
                f"decoded frame is at {sorted_times[best]:.4f} s"
            )
        picked.append(images[order[best]])
    return np.stack(picked)


# ---------------------------------------------------------------------------------------------------------- reader
class LeRobotEpisodes:
    """Read a LeRobot v3.x dataset frame by frame, to the values lerobot itself reads.

    `source` is a local folder or a Hub dataset repo id (``namespace/name``, fetched with ``snapshot_download`` so
    the HF cache and ``HF_HUB_OFFLINE=1`` work). Low-dimensional columns of all data files are loaded eagerly (they are
    small and training samples windows of them); camera frames are decoded on demand: PNG structs row by row from a
    small LRU of per-file image columns, videos one episode segment at a time into a small LRU, so reading a dataset
    in order decodes every video frame once.

    The "global index" used by :meth:`frame` is the frame's position in the dataset ordered by the ``index`` column,
    0 … ``num_frames`` − 1 (equal to ``index`` itself in every complete dataset).
    """

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        revision: str | None = None,
        token: str | bool | None = None,
        cache_size: int = 4,
    ) -> None:
        self.root = _resolve_root(source, revision, token)
        info_path = self.root / "meta" / "info.json"
        self.info: dict[str, Any] = _read_json(info_path)
        _check_codebase_version(self.info, info_path)
        for field in ("fps", "features", "data_path"):
            if field not in self.info:
                raise LeRobotFormatError(f"{info_path}: missing field {field!r}")
        self.fps: float = self.info["fps"]
        self.features: dict[str, dict[str, Any]] = self.info["features"]
        self.camera_keys: list[str] = [k for k, f in self.features.items() if f.get("dtype") in _CAMERA_DTYPES]
        self._video_keys = [k for k in self.camera_keys if self.features[k]["dtype"] == "video"]
        if self._video_keys and not self.info.get("video_path"):
            raise LeRobotFormatError(f"{info_path}: features {self._video_keys} are videos but video_path is not set")
        self._low_dim_keys = [k for k in self.features if k not in self.camera_keys]
        self._cache_size = max(1, cache_size)
        self._image_tables: OrderedDict[int, pa.Table] = OrderedDict()
        self._video_segments: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self.stats: dict[str, dict[str, np.ndarray]] = self._load_stats()
        self._load_episodes()
        self.tasks: dict[int, str] = self._load_tasks()
        self._load_data()

    # -- loading
    def _load_stats(self) -> dict[str, dict[str, np.ndarray]]:
        path = self.root / "meta" / "stats.json"
        if not path.is_file():
            return {}
        raw = _read_json(path)
        return {key: {name: np.asarray(value) for name, value in values.items()} for key, values in raw.items()}

    def _load_tasks(self) -> dict[int, str]:
        path = self.root / "meta" / "tasks.parquet"
        if not path.is_file():
            if self._episode_index.size:
                raise FileNotFoundError(f"{path}: task list is missing")
            return {}
        table = _read_parquet(path, "task list")  # all columns: the task text is usually the pandas index column
        if "task_index" not in table.column_names:
            raise LeRobotFormatError(f"{path} (task list): missing column 'task_index'; columns {table.column_names}")
        frame = table.to_pandas()
        texts = frame["task"] if "task" in frame.columns else frame.index
        return {int(i): str(t) for i, t in zip(frame["task_index"], texts, strict=True)}

    def _load_episodes(self) -> None:
        required = [
            "episode_index",
            "tasks",
            "length",
            "dataset_from_index",
            "dataset_to_index",
            "data/chunk_index",
            "data/file_index",
        ]
        for key in self._video_keys:
            required += [f"videos/{key}/{name}" for name in ("chunk_index", "file_index", "from_timestamp")]
        self._episode_tables: list[tuple[Path, pa.Table]] = []
        columns: dict[str, list[np.ndarray]] = {name: [] for name in required if name != "tasks"}
        locations: list[tuple[int, int]] = []
        for path in sorted((self.root / "meta" / "episodes").glob("chunk-*/file-*.parquet")):
            table = _read_parquet(path, "episodes metadata")
            missing = [name for name in required if name not in table.column_names]
            if missing:
                raise LeRobotFormatError(f"{path} (episodes metadata): missing column(s) {missing}")
            self._episode_tables.append((path, table))
            for name in columns:
                columns[name].append(_column_to_numpy(table.column(name)))
            locations += [(len(self._episode_tables) - 1, row) for row in range(table.num_rows)]
        merged = {name: np.concatenate(parts) if parts else np.zeros(0) for name, parts in columns.items()}
        order = np.argsort(merged["episode_index"], kind="stable")
        self._episodes = {name: values[order] for name, values in merged.items()}
        self._episode_index = self._episodes["episode_index"].astype(np.int64)
        if len(np.unique(self._episode_index)) != len(self._episode_index):
            raise LeRobotFormatError(f"{self.root}/meta/episodes: an episode_index appears twice")
        self._episode_location = [locations[i] for i in order]
        self._episode_row = {int(e): row for row, e in enumerate(self._episode_index)}

    def _load_data(self) -> None:
        template = self.info["data_path"]
        files = sorted(
            {
                (int(c), int(f))
                for c, f in zip(self._episodes["data/chunk_index"], self._episodes["data/file_index"], strict=True)
            }
        )
        self._data_files = [self.root / template.format(chunk_index=c, file_index=f) for c, f in files]
        known_episodes = set(self._episode_row)
        parts: dict[str, list[np.ndarray]] = {key: [] for key in self._low_dim_keys}
        file_ids, rows_in_file = [], []
        for file_id, path in enumerate(self._data_files):
            schema = _read_schema(path, "frame data")
            expected = [k for k in self.features if self.features[k].get("dtype") != "video"]
            missing = [k for k in expected if k not in schema.names]
            if missing:
                raise LeRobotFormatError(
                    f"{path} (frame data): column(s) {missing} listed in meta/info.json features are missing; the "
                    f"file has columns {schema.names}"
                )
            table = _read_parquet(path, "frame data", self._low_dim_keys)
            episode_column = _column_to_numpy(table.column("episode_index"), "int64")
            # Rows of an episode without metadata (a writer killed between the two files) are not part of the dataset.
            keep = np.isin(episode_column, list(known_episodes))
            for key in self._low_dim_keys:
                parts[key].append(_column_to_numpy(table.column(key), self.features[key].get("dtype"))[keep])
            file_ids.append(np.full(int(keep.sum()), file_id))
            rows_in_file.append(np.flatnonzero(keep))
        if not self._data_files:
            self._columns = {key: self._empty_column(key) for key in self._low_dim_keys}
            self._file_of_row = self._row_in_file = np.zeros(0, dtype=np.int64)
        else:
            merged = {key: np.concatenate(values) for key, values in parts.items()}
            order = np.argsort(merged["index"], kind="stable")
            self._columns = {key: values[order] for key, values in merged.items()}
            self._file_of_row = np.concatenate(file_ids)[order]
            self._row_in_file = np.concatenate(rows_in_file)[order]
        for column in self._columns.values():
            column.flags.writeable = False
        self._episode_start: dict[int, int] = {}
        episodes = self._columns["episode_index"]
        for row, episode in enumerate(self._episode_index):
            positions = np.flatnonzero(episodes == episode)
            length = int(self._episodes["length"][row])
            if len(positions) != length or (length and positions[-1] - positions[0] + 1 != length):
                raise LeRobotFormatError(
                    f"episode {episode}: meta/episodes says {length} frames, but the data files hold {len(positions)}"
                    f"{' (not contiguous in index order)' if len(positions) == length else ''}"
                )
            self._episode_start[int(episode)] = int(positions[0]) if length else 0

    def _empty_column(self, key: str) -> np.ndarray:
        spec = self.features[key]
        shape = list(spec.get("shape") or [1])
        dtype = spec.get("dtype") if spec.get("dtype") in _NUMERIC_DTYPES else object
        return np.zeros((0,) if shape == [1] else (0, *shape), dtype=dtype)

    # -- sizes and metadata
    @property
    def num_episodes(self) -> int:
        return len(self._episode_index)

    @property
    def num_frames(self) -> int:
        return len(self._file_of_row)

    @property
    def episode_indices(self) -> list[int]:
        return [int(e) for e in self._episode_index]

    @property
    def episode_lengths(self) -> list[int]:
        """Frames per episode, in episode order."""
        return [int(n) for n in self._episodes["length"]]

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root={str(self.root)!r}, episodes={self.num_episodes}, frames={self.num_frames}, "
            f"fps={self.fps}, cameras={self.camera_keys})"
        )

    def episode_range(self, episode_index: int) -> range:
        """Global indices of one episode's frames (for windows over `column`)."""
        row = self._row_of(episode_index)
        start = self._episode_start[int(episode_index)]
        return range(start, start + int(self._episodes["length"][row]))

    def require_features(self, *keys: str) -> None:
        """Fail early, naming the dataset, when a consumer needs features the dataset does not have."""
        missing = [key for key in keys if key not in self.features]
        if missing:
            raise KeyError(f"{self.root}: dataset has no feature(s) {missing}; its features are {list(self.features)}")

    def column(self, key: str) -> np.ndarray:
        """A low-dimensional feature over all frames in global-index order (read-only; rows x dims, or rows)."""
        if key not in self._columns:
            self.require_features(key)
            raise KeyError(f"{key!r} is a camera feature; read images through frame() or episode()")
        return self._columns[key]

    def episode_stats(self, episode_index: int) -> dict[str, dict[str, np.ndarray]]:
        """Per-episode statistics as stored in the episodes metadata (``stats/<feature>/<stat>`` columns)."""
        file_id, row = self._episode_location[self._row_of(episode_index)]
        table = self._episode_tables[file_id][1]
        stats: dict[str, dict[str, np.ndarray]] = {}
        for name in table.column_names:
            if name.startswith("stats/"):
                key, _, stat = name[len("stats/") :].rpartition("/")
                stats.setdefault(key, {})[stat] = np.asarray(table.column(name)[row].as_py())
        return stats

    # -- frames
    def frame(self, index: int) -> dict[str, Any]:
        """One frame: low-dimensional features (state/action as float32 arrays), ``task`` text, every camera as an
        HxWx3 uint8 array and, where the dataset has it, the parsed ``annotations`` record."""
        index = int(index)
        if not 0 <= index < self.num_frames:
            raise IndexError(f"frame {index} is out of range: the dataset has {self.num_frames} frames")
        out: dict[str, Any] = {}
        for key in self._low_dim_keys:
            value = self._columns[key][index]
            if key == ANNOTATIONS_KEY and self.features[key].get("dtype") == "string":
                value = json.loads(value) if value is not None else None
            elif isinstance(value, np.ndarray):
                value = value.copy()
            elif isinstance(value, np.generic):
                value = value.item()
            out[key] = value
        task_index = int(self._columns["task_index"][index])
        if task_index not in self.tasks:
            raise LeRobotFormatError(f"frame {index}: task_index {task_index} is not in meta/tasks.parquet")
        out["task"] = self.tasks[task_index]
        for key in self.camera_keys:
            out[key] = self._image(key, index)
        return out

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.frame(index)

    def episode(self, episode_index: int) -> list[dict[str, Any]]:
        """All frames of one episode, in order."""
        return [self.frame(index) for index in self.episode_range(episode_index)]

    def _row_of(self, episode_index: int) -> int:
        try:
            return self._episode_row[int(episode_index)]
        except KeyError:
            raise IndexError(
                f"episode {episode_index} is not in the dataset (episodes {self.episode_indices[:3]}…, "
                f"{self.num_episodes} in all)"
            ) from None

    def _image(self, key: str, index: int) -> np.ndarray:
        if self.features[key]["dtype"] == "video":
            episode = int(self._columns["episode_index"][index])
            return self._video_segment(key, episode)[index - self._episode_start[episode]].copy()
        file_id, row = int(self._file_of_row[index]), int(self._row_in_file[index])
        table = self._image_tables.get(file_id)
        if table is None:
            table = _read_parquet(self._data_files[file_id], "frame data", self._image_keys_in_parquet)
            self._image_tables[file_id] = table
            while len(self._image_tables) > self._cache_size:
                self._image_tables.popitem(last=False)
        else:
            self._image_tables.move_to_end(file_id)
        where = f"{self._data_files[file_id]} row {row} column {key}"
        return _decode_image(table.column(key)[row].as_py(), self.root, where)

    @property
    def _image_keys_in_parquet(self) -> list[str]:
        return [k for k in self.camera_keys if self.features[k]["dtype"] == "image"]

    def _video_segment(self, key: str, episode: int) -> np.ndarray:
        cache_key = (key, episode)
        cached = self._video_segments.get(cache_key)
        if cached is not None:
            self._video_segments.move_to_end(cache_key)
            return cached
        row = self._row_of(episode)
        path = self.root / self.info["video_path"].format(
            video_key=key,
            chunk_index=int(self._episodes[f"videos/{key}/chunk_index"][row]),
            file_index=int(self._episodes[f"videos/{key}/file_index"][row]),
        )
        from_timestamp = float(self._episodes[f"videos/{key}/from_timestamp"][row])
        frames = self.episode_range(episode)
        timestamps = self._columns["timestamp"][frames.start : frames.stop].astype(np.float64)
        segment = _decode_video_frames(path, from_timestamp + timestamps, tolerance=0.5 / float(self.fps))
        self._video_segments[cache_key] = segment
        while len(self._video_segments) > self._cache_size:
            self._video_segments.popitem(last=False)
        return segment


# ---------------------------------------------------------------------------------------------------------- stats
def _numeric_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """Exact statistics over the first axis of (frames, dims) values."""
    as_float = values.astype(np.float64)
    integer = np.issubdtype(values.dtype, np.integer)
    stats = {
        "min": values.min(axis=0).astype(np.int64) if integer else as_float.min(axis=0),
        "max": values.max(axis=0).astype(np.int64) if integer else as_float.max(axis=0),
        "mean": as_float.mean(axis=0),
        "std": as_float.std(axis=0),
        "count": np.array([len(values)], dtype=np.int64),
    }
    quantiles = np.quantile(as_float, list(QUANTILES.values()), axis=0)
    stats.update(zip(QUANTILES, quantiles, strict=True))
    return stats


def _image_stats(images: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-channel statistics in [0, 1], shaped (3, 1, 1), of a subsample of downscaled frames (as lerobot does)."""
    count = len(images)
    picks = np.unique(np.linspace(0, count - 1, min(count, _IMAGE_STATS_MAX_FRAMES)).round().astype(int))
    height, width = images[0].shape[:2]
    stride = max(1, math.ceil(max(height, width) / _IMAGE_STATS_MAX_SIDE))
    pixels = np.stack([images[i][::stride, ::stride] for i in picks]).reshape(-1, 3).astype(np.float64) / 255.0
    stats = {
        "min": pixels.min(axis=0),
        "max": pixels.max(axis=0),
        "mean": pixels.mean(axis=0),
        "std": pixels.std(axis=0),
    }
    stats.update(zip(QUANTILES, np.quantile(pixels, list(QUANTILES.values()), axis=0), strict=True))
    stats = {name: value.reshape(3, 1, 1) for name, value in stats.items()}
    stats["count"] = np.array([len(picks)], dtype=np.int64)
    return stats


def _aggregate_episode_stats(episodes: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Exact min/max/mean/std/count from per-episode stats; quantiles as the count-weighted mean (lerobot's rule)."""
    counts = np.array([float(stats["count"][0]) for stats in episodes])
    weights = (counts / counts.sum()).reshape(-1, *([1] * np.ndim(episodes[0]["mean"])))
    means = np.stack([stats["mean"] for stats in episodes])
    mean = (weights * means).sum(axis=0)
    second_moment = (weights * (np.stack([stats["std"] for stats in episodes]) ** 2 + (means - mean) ** 2)).sum(0)
    out = {
        "min": np.min(np.stack([stats["min"] for stats in episodes]), axis=0),
        "max": np.max(np.stack([stats["max"] for stats in episodes]), axis=0),
        "mean": mean,
        "std": np.sqrt(second_moment),
        "count": np.array([int(counts.sum())], dtype=np.int64),
    }
    for name in QUANTILES:
        out[name] = (weights * np.stack([stats[name] for stats in episodes])).sum(axis=0)
    return out


# ---------------------------------------------------------------------------------------------------------- writer
def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _hf_feature(key: str, spec: Mapping[str, Any]) -> Any:
    """The `datasets` feature lerobot 0.4.4 derives from an info.json feature (so `load_dataset` casts cleanly)."""
    import datasets

    dtype, shape = spec["dtype"], list(spec.get("shape") or [1])
    if dtype == "image":
        return datasets.Image()
    if dtype == "string":
        return datasets.Value("string")
    if dtype not in _NUMERIC_DTYPES:
        raise ValueError(f"feature {key!r}: dtype {dtype!r} is not supported by the writer")
    if shape == [1]:
        return datasets.Value(dtype)
    if len(shape) == 1:
        return datasets.List(datasets.Value(dtype), length=shape[0])
    raise ValueError(f"feature {key!r}: shape {shape} is not supported by the writer (scalars and vectors only)")


def _stats_arrow_type(spec: Mapping[str, Any], stat: str) -> pa.DataType:
    if stat == "count":
        return pa.list_(pa.int64())
    if spec["dtype"] == "image":
        return pa.list_(pa.list_(pa.list_(pa.float64())))
    if stat in ("min", "max") and spec["dtype"].startswith(("int", "uint")):
        return pa.list_(pa.int64())
    return pa.list_(pa.float64())


class LeRobotEpisodeWriter:
    """Record episodes into a LeRobot v3.0 dataset that :class:`LeRobotEpisodes` and lerobot 0.4.4 read.

    Make one with :meth:`create` (new folder) or :meth:`open` (append to, or resume, an existing image dataset);
    each :meth:`add_episode` validates the whole episode before writing anything, then commits it as described in
    the module docstring. Frames are dicts with ``observation.state``, ``action``, ``observation.images.<camera>``
    (HxWx3 uint8), ``annotations`` (if the dataset has them) and any extra features declared at creation;
    ``timestamp`` (frame_index / fps), ``frame_index``, ``episode_index``, ``index`` and ``task_index`` are set here.
    """

    def __init__(self, root: Path, info: dict[str, Any]) -> None:
        """Use :meth:`create` or :meth:`open`."""
        self.root = root
        self.info = info
        self.features: dict[str, dict[str, Any]] = info["features"]
        self.camera_keys = [k for k, f in self.features.items() if f["dtype"] == "image"]
        self._frame_keys = [k for k in self.features if k not in INDEX_KEYS]
        self._stat_keys = [k for k, f in self.features.items() if f["dtype"] != "string"]
        self._numeric_keys = [k for k in self._stat_keys if k not in self.camera_keys]
        self._tasks: dict[str, int] = {}
        self._values: dict[str, list[np.ndarray]] = {key: [] for key in self._numeric_keys}
        self._camera_stats: dict[str, list[dict[str, np.ndarray]]] = {key: [] for key in self.camera_keys}
        self._next_episode_index = 0
        self._num_episodes = 0
        self._num_frames = 0
        self._next_data_file = (0, 0)
        self._next_episodes_file = (0, 0)

    # -- construction
    @classmethod
    def create(
        cls,
        root: str | os.PathLike[str],
        *,
        fps: int,
        robot_type: str | None,
        state_names: Sequence[str],
        action_names: Sequence[str],
        cameras: Mapping[str, tuple[int, int]] | None = None,
        with_annotations: bool = False,
        extra_features: Mapping[str, Mapping[str, Any]] | None = None,
        chunks_size: int = DEFAULT_CHUNKS_SIZE,
    ) -> LeRobotEpisodeWriter:
        """Start a new dataset in `root` (absent or empty). Cameras map a name (``image_0``, stored as
        ``observation.images.image_0``) to (height, width); `extra_features` map a key such as ``next.success`` to
        ``{"dtype": "bool", "shape": [1], "names": None}`` (scalars use shape [1], vectors [n])."""
        root = Path(root)
        if (root / "meta" / "info.json").exists():
            raise FileExistsError(f"{root}: a LeRobot dataset already exists; use LeRobotEpisodeWriter.open to append")
        if root.exists() and any(root.iterdir()):
            raise FileExistsError(f"{root}: folder is not empty; create a dataset in a new or empty folder")
        if not isinstance(fps, int | float) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        if int(chunks_size) < 1:
            raise ValueError(f"chunks_size must be >= 1, got {chunks_size!r}")
        features: dict[str, dict[str, Any]] = {}
        for key, names in ((STATE_KEY, state_names), (ACTION_KEY, action_names)):
            names = list(names)
            if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
                raise ValueError(f"{key}: names must be a non-empty list of distinct strings, got {names!r}")
            features[key] = {"dtype": "float32", "shape": [len(names)], "names": names}
        for name, size in (cameras or {}).items():
            key = name if name.startswith(IMAGE_KEY_PREFIX) else IMAGE_KEY_PREFIX + name
            if len(tuple(size)) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
                raise ValueError(f"camera {name!r}: size must be (height, width) positive ints, got {size!r}")
            features[key] = {"dtype": "image", "shape": [size[0], size[1], 3], "names": ["height", "width", "channel"]}
        if with_annotations:
            features[ANNOTATIONS_KEY] = {"dtype": "string", "shape": [1], "names": None}
        for key, spec in (extra_features or {}).items():
            if key in features or key in INDEX_KEYS or key == "task":
                raise ValueError(f"extra feature {key!r} clashes with a built-in feature")
            spec = {"dtype": spec.get("dtype"), "shape": list(spec.get("shape") or [1]), "names": spec.get("names")}
            if spec["dtype"] not in _NUMERIC_DTYPES:
                raise ValueError(
                    f"extra feature {key!r}: dtype must be one of {_NUMERIC_DTYPES}, got {spec['dtype']!r}"
                )
            if len(spec["shape"]) != 1 or spec["shape"][0] < 1:
                raise ValueError(
                    f"extra feature {key!r}: shape must be [1] (scalar) or [n] (vector), got {spec['shape']}"
                )
            features[key] = spec
        features.update({key: dict(spec) for key, spec in _INDEX_FEATURES.items()})
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": robot_type,
            "total_episodes": 0,
            "total_frames": 0,
            "total_tasks": 0,
            "chunks_size": int(chunks_size),
            "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 200,
            "fps": fps,
            "splits": {},
            "data_path": DEFAULT_DATA_PATH,
            "video_path": None,
            "features": features,
        }
        writer = cls(root, info)
        writer._write_info()
        return writer

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> LeRobotEpisodeWriter:
        """Append to an existing image dataset (ours or lerobot's), e.g. to resume a killed recording.

        Leftovers of an interrupted episode are removed (temporary files, and data files no episode refers to), and
        info.json / stats.json are rebuilt from the committed episodes, so numbering continues after the last one.
        """
        root = Path(root)
        for folder in (root / "meta", root / "data"):
            for leftover in folder.rglob(f".*{_TEMP_MARK}*") if folder.is_dir() else ():
                leftover.unlink(missing_ok=True)
        reader = LeRobotEpisodes(root)
        info = reader.info
        if reader._video_keys:
            raise LeRobotFormatError(
                f"{root}: features {reader._video_keys} are videos; the writer appends PNG frames only"
            )
        for key in (STATE_KEY, ACTION_KEY):
            spec = info["features"].get(key)
            if spec is None or spec.get("dtype") not in ("float32", "float64") or len(spec.get("shape", [])) != 1:
                raise LeRobotFormatError(f"{root}/meta/info.json: feature {key!r} must be a float vector, got {spec}")
        writer = cls(root, info)
        writer._tasks = {text: index for index, text in reader.tasks.items()}
        for key in writer._numeric_keys:
            writer._values[key] = [np.asarray(reader.column(key))]
        for episode in reader.episode_indices:
            stats = reader.episode_stats(episode)
            for key in writer.camera_keys:
                if key in stats:
                    writer._camera_stats[key].append(stats[key])
        writer._num_episodes = reader.num_episodes
        writer._num_frames = reader.num_frames
        writer._next_episode_index = max(reader.episode_indices, default=-1) + 1
        chunks_size = int(info.get("chunks_size", DEFAULT_CHUNKS_SIZE))
        referenced = set(reader._data_files)
        pattern = re.compile(r"chunk-(\d+)/file-(\d+)\.parquet$")
        data_files = sorted(root.glob("data/chunk-*/file-*.parquet"))
        for path in data_files:
            if path not in referenced:  # written by an episode that was never committed
                path.unlink()
        if referenced:
            last = max(tuple(map(int, pattern.search(p.as_posix()).groups())) for p in referenced)
            writer._next_data_file = _next_file(last, chunks_size)
        episode_files = [path for path, _ in reader._episode_tables]
        if episode_files:
            last = max(tuple(map(int, pattern.search(p.as_posix()).groups())) for p in episode_files)
            writer._next_episodes_file = _next_file(last, chunks_size)
        writer._write_meta()
        return writer

    # -- properties
    @property
    def num_episodes(self) -> int:
        return self._num_episodes

    @property
    def num_frames(self) -> int:
        return self._num_frames

    @property
    def tasks(self) -> dict[int, str]:
        return {index: text for text, index in self._tasks.items()}

    # -- recording
    def add_episode(self, frames: Iterable[Mapping[str, Any]], task: str) -> int:
        """Validate and commit one episode; returns its episode_index. Nothing is written if validation fails."""
        frames = list(frames)
        if not frames:
            raise ValueError("empty episode: add_episode needs at least one frame")
        if not isinstance(task, str) or not task.strip():
            raise ValueError(f"task must be a non-empty string, got {task!r}")
        columns = self._validate(frames)
        count = len(frames)
        episode_index = self._next_episode_index
        new_task = task not in self._tasks
        task_index = len(self._tasks) if new_task else self._tasks[task]
        frame_index = np.arange(count, dtype=np.int64)
        columns["timestamp"] = (frame_index / float(self.info["fps"])).astype(np.float32)
        columns["frame_index"] = frame_index
        columns["episode_index"] = np.full(count, episode_index, dtype=np.int64)
        columns["index"] = self._num_frames + frame_index
        columns["task_index"] = np.full(count, task_index, dtype=np.int64)

        stats = {key: _numeric_stats(_as_2d(columns[key])) for key in self._numeric_keys}
        stats.update({key: _image_stats(columns[key]) for key in self.camera_keys})
        data_table = self._data_table(columns)
        data_chunk, data_file = self._next_data_file
        meta_chunk, meta_file = self._next_episodes_file
        episode_table = self._episode_table(
            {
                "episode_index": episode_index,
                "tasks": [task],
                "length": count,
                "data/chunk_index": data_chunk,
                "data/file_index": data_file,
                "dataset_from_index": self._num_frames,
                "dataset_to_index": self._num_frames + count,
                "meta/episodes/chunk_index": meta_chunk,
                "meta/episodes/file_index": meta_file,
            },
            stats,
        )

        if new_task:  # before the commit: an unused task after a crash is harmless, a missing one is not
            self._write_tasks({**self._tasks, task: task_index})
        data_path = self.root / self.info["data_path"].format(chunk_index=data_chunk, file_index=data_file)
        _atomic_write(data_path, lambda temp: pq.write_table(data_table, temp))
        episodes_path = self.root / EPISODES_PATH.format(chunk_index=meta_chunk, file_index=meta_file)
        _atomic_write(episodes_path, lambda temp: pq.write_table(episode_table, temp))  # the commit

        self._tasks[task] = task_index
        for key in self._numeric_keys:
            self._values[key].append(columns[key])
        for key in self.camera_keys:
            self._camera_stats[key].append(stats[key])
        chunks_size = int(self.info["chunks_size"])
        self._next_data_file = _next_file(self._next_data_file, chunks_size)
        self._next_episodes_file = _next_file(self._next_episodes_file, chunks_size)
        self._next_episode_index += 1
        self._num_episodes += 1
        self._num_frames += count
        self._write_meta()
        return episode_index

    def _validate(self, frames: list[Mapping[str, Any]]) -> dict[str, Any]:
        expected = set(self._frame_keys)
        for i, frame in enumerate(frames):
            if not isinstance(frame, Mapping):
                raise TypeError(f"frame {i}: expected a dict of features, got {type(frame).__name__}")
            keys = set(frame)
            for key in sorted(keys - expected):
                if key in INDEX_KEYS or key == "task":
                    raise ValueError(f"frame {i}: {key!r} is set by the writer (task: add_episode's argument)")
                hint = " (the dataset was created without annotations)" if key == ANNOTATIONS_KEY else ""
                raise ValueError(f"frame {i}: unknown feature {key!r}{hint}; the frame features are {self._frame_keys}")
            for key in sorted(expected - keys):
                raise ValueError(f"frame {i}: missing {key!r}; the frame features are {self._frame_keys}")
        columns: dict[str, Any] = {}
        for key in self._frame_keys:
            spec = self.features[key]
            if spec["dtype"] == "image":
                columns[key] = [
                    _check_image(frame[key], key, i, tuple(spec["shape"])) for i, frame in enumerate(frames)
                ]
            elif key == ANNOTATIONS_KEY:
                columns[key] = [_annotation_json(frame[key], i) for i, frame in enumerate(frames)]
            else:
                columns[key] = _stack_values([frame[key] for frame in frames], key, spec)
        return columns

    def _data_table(self, columns: Mapping[str, Any]) -> pa.Table:
        import datasets

        schema = datasets.Features({key: _hf_feature(key, spec) for key, spec in self.features.items()}).arrow_schema
        arrays = []
        for field in schema:
            key, values = field.name, columns[field.name]
            if key in self.camera_keys:
                arrays.append(
                    pa.StructArray.from_arrays(
                        [
                            pa.array([_encode_png(image) for image in values], pa.binary()),
                            pa.array([f"frame-{i:06d}.png" for i in range(len(values))], pa.string()),
                        ],
                        names=["bytes", "path"],
                    )
                )
            elif pa.types.is_fixed_size_list(field.type):
                flat = pa.array(np.ascontiguousarray(values).reshape(-1), type=field.type.value_type)
                arrays.append(pa.FixedSizeListArray.from_arrays(flat, field.type.list_size))
            elif key == ANNOTATIONS_KEY:
                arrays.append(pa.array(values, type=field.type))
            else:
                arrays.append(pa.array(np.asarray(values).reshape(-1), type=field.type))
        return pa.Table.from_arrays(arrays, schema=schema)

    def _episode_table(self, row: Mapping[str, Any], stats: Mapping[str, Mapping[str, np.ndarray]]) -> pa.Table:
        fields = [
            pa.field("episode_index", pa.int64()),
            pa.field("tasks", pa.list_(pa.string())),
            pa.field("length", pa.int64()),
            pa.field("data/chunk_index", pa.int64()),
            pa.field("data/file_index", pa.int64()),
            pa.field("dataset_from_index", pa.int64()),
            pa.field("dataset_to_index", pa.int64()),
        ]
        values: dict[str, list[Any]] = {field.name: [row[field.name]] for field in fields}
        for key in self._stat_keys:
            for stat in STAT_NAMES:
                name = f"stats/{key}/{stat}"
                fields.append(pa.field(name, _stats_arrow_type(self.features[key], stat)))
                values[name] = [np.asarray(stats[key][stat]).tolist()]
        for name in ("meta/episodes/chunk_index", "meta/episodes/file_index"):
            fields.append(pa.field(name, pa.int64()))
            values[name] = [row[name]]
        return pa.Table.from_pydict(values, schema=pa.schema(fields))

    # -- meta files
    def _write_info(self) -> None:
        self.info.update(
            total_episodes=self._num_episodes,
            total_frames=self._num_frames,
            total_tasks=len(self._tasks),
            splits={"train": f"0:{self._num_episodes}"} if self._num_episodes else {},
        )
        _atomic_write_text(self.root / "meta" / "info.json", json.dumps(self.info, indent=4) + "\n")

    def _write_tasks(self, tasks: Mapping[str, int]) -> None:
        import pandas as pd

        ordered = sorted(tasks.items(), key=lambda item: item[1])
        frame = pd.DataFrame({"task_index": [i for _, i in ordered]}, index=pd.Index([t for t, _ in ordered]))
        _atomic_write(self.root / "meta" / "tasks.parquet", lambda temp: frame.to_parquet(temp))

    def _write_meta(self) -> None:
        stats: dict[str, dict[str, Any]] = {}
        if self._num_frames:
            for key in self._stat_keys:
                if key in self.camera_keys:
                    if not self._camera_stats[key]:
                        continue
                    values = _aggregate_episode_stats(self._camera_stats[key])
                else:
                    self._values[key] = [np.concatenate(self._values[key])]  # concatenate once per episode, not N
                    values = _numeric_stats(_as_2d(self._values[key][0]))
                stats[key] = {name: np.asarray(values[name]).tolist() for name in STAT_NAMES}
        _atomic_write_text(self.root / "meta" / "stats.json", json.dumps(stats, indent=4) + "\n")
        self._write_info()

    # -- Hub
    def push_to_hub(
        self,
        repo_id: str,
        *,
        private: bool | None = None,
        token: str | None = None,
        branch: str | None = None,
        commit_message: str | None = None,
        tag_version: bool = True,
    ) -> str:
        """Upload the folder as a Hub dataset repo (creating it if needed); returns the commit URL.

        A dataset card with a ``configs`` entry is added when the folder has none, so the Hub viewer and
        ``load_dataset(repo_id)`` read the frames; the ``v3.0`` tag is (re)pointed at the new commit because lerobot
        resolves datasets by their codebase-version tag.
        """
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError

        api = HfApi(token=token)
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        card = self.root / "README.md"
        if not card.exists():
            _atomic_write_text(card, self._dataset_card(repo_id))
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=self.root,
            repo_type="dataset",
            revision=branch,
            commit_message=commit_message or f"Upload {self._num_episodes} episodes ({self._num_frames} frames)",
            ignore_patterns=[".*", "**/.*"],
        )
        if tag_version:
            try:
                api.create_tag(repo_id, tag=CODEBASE_VERSION, repo_type="dataset", revision=branch)
            except HfHubHTTPError as err:
                if err.response is None or err.response.status_code != 409:
                    raise
                api.delete_tag(repo_id, tag=CODEBASE_VERSION, repo_type="dataset")
                api.create_tag(repo_id, tag=CODEBASE_VERSION, repo_type="dataset", revision=branch)
        return str(commit.commit_url)

    def _dataset_card(self, repo_id: str) -> str:
        features = "\n".join(f"- `{key}`: {spec['dtype']} {spec.get('shape')}" for key, spec in self.features.items())
        return (
            "---\n"
            "task_categories:\n- robotics\n"
            "tags:\n- LeRobot\n- vlaser\n"
            "configs:\n- config_name: default\n  data_files: data/*/*.parquet\n"
            "---\n\n"
            f"# {repo_id}\n\n"
            f"Robot episodes in the LeRobot {CODEBASE_VERSION} layout, recorded with VLASER "
            f"(robot `{self.info.get('robot_type')}`, {self.info['fps']} fps).\n\n"
            f"Features:\n\n{features}\n\nSee `meta/info.json` for the totals and `meta/stats.json` for statistics.\n"
        )


def _next_file(position: tuple[int, int], chunks_size: int) -> tuple[int, int]:
    chunk, file = position
    return (chunk + 1, 0) if file + 1 >= chunks_size else (chunk, file + 1)


def _as_2d(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    return values.reshape(len(values), -1)


def _encode_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _check_image(value: Any, key: str, frame: int, shape: tuple[int, ...]) -> np.ndarray:
    image = np.asarray(value)
    if image.dtype != np.uint8 or image.shape != shape:
        raise ValueError(
            f"frame {frame}: {key} must be a uint8 array of shape {shape}, got {image.dtype} of shape {image.shape}"
        )
    return image


def _annotation_json(value: Any, frame: int) -> str:
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"frame {frame}: annotations string is not valid JSON ({err})") from err
        return value
    try:
        return json.dumps(value, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"frame {frame}: annotations are not JSON-serializable ({err})") from err


def _stack_values(values: Sequence[Any], key: str, spec: Mapping[str, Any]) -> np.ndarray:
    """Stack one low-dimensional feature over the episode, checking shape, type and finiteness."""
    dtype = np.dtype(spec["dtype"])
    shape = tuple(spec.get("shape") or [1])
    names = spec.get("names")
    expected = "a scalar" if shape == (1,) else f"shape {shape}" + (f" ({', '.join(names)})" if names else "")
    rows = []
    for i, value in enumerate(values):
        array = np.asarray(value)
        if array.shape not in ((shape, (), (1,)) if shape == (1,) else (shape,)):
            raise ValueError(f"frame {i}: {key} has shape {array.shape}, expected {expected}")
        allowed = {"f": "biuf", "i": "biu", "u": "biu", "b": "b"}[dtype.kind]
        if array.dtype.kind not in allowed:
            raise ValueError(f"frame {i}: {key} has dtype {array.dtype}, expected {spec['dtype']} values")
        rows.append(array.reshape(shape))
    stacked = np.stack(rows)
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            stacked = stacked.astype(dtype)
        for problem, mask in (("NaN", np.isnan(stacked)), ("inf", np.isinf(stacked))):
            bad = np.flatnonzero(mask.reshape(len(stacked), -1).any(axis=1))
            if bad.size:
                raise ValueError(f"{key} contains {problem} at frame {int(bad[0])}")
    else:
        stacked = stacked.astype(dtype)
    return stacked[:, 0] if shape == (1,) else stacked
