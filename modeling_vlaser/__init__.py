# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""VLASER models: configuration, reasoning VLM, action policy, processor, presets and checkpoint conversion."""

from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText, AutoProcessor

from .configuration_vlaser import VlaserConfig
from .modeling_vlaser import VlaserActionOutput, VlaserForActionPrediction, VlaserForConditionalGeneration
from .normalization import ActionNormalizer
from .policy import VlaserPolicy
from .presets import get_preset_config
from .processing_vlaser import VlaserProcessor, load_tiny_processor

AutoConfig.register("vlaser", VlaserConfig, exist_ok=True)
AutoModel.register(VlaserConfig, VlaserForActionPrediction, exist_ok=True)
AutoModelForImageTextToText.register(VlaserConfig, VlaserForConditionalGeneration, exist_ok=True)
AutoProcessor.register(VlaserConfig, VlaserProcessor, exist_ok=True)

# Saved folders then carry the code files and an `auto_map`, so they load with `trust_remote_code=True` where this
# package is not installed.
VlaserConfig.register_for_auto_class()
VlaserForActionPrediction.register_for_auto_class("AutoModel")
VlaserForConditionalGeneration.register_for_auto_class("AutoModelForImageTextToText")
VlaserProcessor.register_for_auto_class("AutoProcessor")

__all__ = [
    "ActionNormalizer",
    "VlaserActionOutput",
    "VlaserConfig",
    "VlaserForActionPrediction",
    "VlaserForConditionalGeneration",
    "VlaserPolicy",
    "VlaserProcessor",
    "get_preset_config",
    "load_tiny_processor",
]
