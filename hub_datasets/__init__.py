"""Datasets on the Hub: robot episodes (LeRobot v3 layout), the in-domain QA engine, OOD converters, VLASER-6M."""

from hub_datasets.episodes import (
    CODEBASE_VERSION,
    LeRobotEpisodes,
    LeRobotEpisodeWriter,
    LeRobotFormatError,
)

__all__ = ["CODEBASE_VERSION", "LeRobotEpisodeWriter", "LeRobotEpisodes", "LeRobotFormatError"]
