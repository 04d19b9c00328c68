"""In-domain embodied-reasoning QA computed exactly from simulator annotation records.

The paper's pipeline asks a VLM to write QA about simulator frames and filters it with an LLM judge; here every
answer is derived from the per-frame annotation record (DESIGN.md), so grounding boxes, distances, relations and
plans are exact and checkable (`hub_datasets.validate`). Families: grounding, spatial_reasoning, planning,
general_qa. Optional model-written QA lives in `hub_datasets.model_qa`.
"""

from .annotations import AnnotationError, Scene, SceneObject, SpatialThresholds, parse_scene
from .engine import Conversation, EngineConfig, EngineReport, FrameQA, InDomainEngine, parse_instruction
from .qa import FAMILIES, QAPair
from .scenes import write_aloha_scene, write_demo_scenes, write_widowx_scene

__all__ = [
    "FAMILIES",
    "AnnotationError",
    "Conversation",
    "EngineConfig",
    "EngineReport",
    "FrameQA",
    "InDomainEngine",
    "QAPair",
    "Scene",
    "SceneObject",
    "SpatialThresholds",
    "parse_instruction",
    "parse_scene",
    "write_aloha_scene",
    "write_demo_scenes",
    "write_widowx_scene",
]
