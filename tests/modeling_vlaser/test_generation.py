"""`generate_answer`: one question about one image, the image placed first unless the question places it."""

from __future__ import annotations

import PIL.Image

from modeling_vlaser import load_tiny_processor
from modeling_vlaser.generation import generate_answer
from tests.conftest import REPO_ROOT, tiny_policy

FRAME = REPO_ROOT / "spaces_demo" / "examples" / "aloha_transfer_cube_seed7.png"


def test_the_image_goes_first_unless_the_question_places_it():
    # Random weights, but a seed and frame whose greedy answer is not blank, so prompts can be told apart.
    model, processor = tiny_policy(seed=0, state_dim=14, action_dim=14), load_tiny_processor()
    image = PIL.Image.open(FRAME).convert("RGB")
    plain = generate_answer(model, processor, image, "Where is the cube?", max_new_tokens=6)
    placed = generate_answer(model, processor, image, "<image>\nWhere is the cube?", max_new_tokens=6)
    assert plain and plain == placed
    later = generate_answer(model, processor, image, "Where is the cube?\n<image>", max_new_tokens=6)
    assert later != plain  # a different prompt: the placeholder was honoured, not doubled
