"""VlaserProcessor: InternVL image tokens, ChatML template, assistant masks, normalization, save/load, tiny tokenizer."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoTokenizer

from modeling_vlaser.normalization import NORMALIZATION_STATS_NAME, ActionNormalizer
from modeling_vlaser.processing_vlaser import (
    TINY_SPECIAL_TOKEN_IDS,
    TINY_TOKENIZER_DIR,
    VlaserProcessor,
    load_tiny_processor,
)

SHARED = Path(os.environ.get("VLASER_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
INTERNVL3_TOKENIZER = SHARED / "fixtures" / "internvl3_1b_original" / "tokenizer"

TINY_TOKENS_PER_TILE = 64  # 224 / 14 = 16 patches per side, pixel shuffle 0.5 -> 8 x 8


def image(width: int = 150, height: int = 100, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture(scope="module")
def processor() -> VlaserProcessor:
    return load_tiny_processor()


@pytest.fixture
def normalizer() -> ActionNormalizer:
    return ActionNormalizer(
        state_q01=[0.0, -1.0, 0.0],
        state_q99=[2.0, 1.0, 1.0],
        action_q01=[0.0, 10.0],
        action_q99=[2.0, 20.0],
        raw_action_dims=[1],
    )


@pytest.fixture(scope="module")
def internvl3_tokenizer():
    if not INTERNVL3_TOKENIZER.is_dir():
        reason = f"{INTERNVL3_TOKENIZER} not found (set VLASER_SHARED to the shared folder)"
        print(reason)
        pytest.skip(reason)
    return AutoTokenizer.from_pretrained(INTERNVL3_TOKENIZER)


# ----------------------------------------------------------------------------------------------------------------------
# Tiny tokenizer
# ----------------------------------------------------------------------------------------------------------------------


def test_tiny_tokenizer_has_2048_ids_with_the_internvl_special_tokens_at_the_end(processor):
    tokenizer = processor.tokenizer
    assert len(tokenizer) == 2048
    assert sorted(TINY_SPECIAL_TOKEN_IDS.values()) == list(range(2048 - 13, 2048))
    for token, token_id in TINY_SPECIAL_TOKEN_IDS.items():
        assert tokenizer.convert_tokens_to_ids(token) == token_id
        assert tokenizer.encode(token, add_special_tokens=False) == [token_id]  # never split
    assert tokenizer.pad_token == "<|endoftext|>" and tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.context_image_token_id == TINY_SPECIAL_TOKEN_IDS["<IMG_CONTEXT>"] == processor.image_token_id
    # `<point>` is plain text, as in the real InternVL3 tokenizer.
    assert "<point>" not in tokenizer.get_vocab()
    text = "put the carrot on the plate <point>[[512, 384]]</point>"
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def test_tiny_tokenizer_files_are_small():
    total = sum(path.stat().st_size for path in TINY_TOKENIZER_DIR.iterdir() if path.suffix in (".json", ".jinja"))
    assert total < 300_000


def test_tiny_tokenizer_build_is_deterministic(tmp_path):
    from modeling_vlaser.tiny_tokenizer.build import build_tiny_tokenizer

    written = build_tiny_tokenizer(tmp_path)
    assert {Path(path).name for path in written} == {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"}
    for path in written:
        assert Path(path).read_bytes() == (TINY_TOKENIZER_DIR / Path(path).name).read_bytes(), Path(path).name


# ----------------------------------------------------------------------------------------------------------------------
# Image tokens and chat template
# ----------------------------------------------------------------------------------------------------------------------


def test_each_image_expands_to_64_context_tokens_between_img_tags(processor):
    inputs = processor(
        images=[image(), image(60, 200, seed=1)],
        text=["<IMG_CONTEXT>\nfirst <IMG_CONTEXT>\nsecond"],
        return_tensors="pt",
    )
    ids = inputs["input_ids"][0].tolist()
    assert inputs["pixel_values"].shape == (2, 3, 224, 224)  # one tile per image, whatever the aspect ratio
    assert ids.count(processor.image_token_id) == 2 * TINY_TOKENS_PER_TILE
    starts = [i for i, t in enumerate(ids) if t == processor.start_image_token_id]
    ends = [i for i, t in enumerate(ids) if t == processor.end_image_token_id]
    assert len(starts) == len(ends) == 2
    for start, end in zip(starts, ends, strict=True):
        assert ids[start + 1 : end] == [processor.image_token_id] * TINY_TOKENS_PER_TILE


def test_chat_template_renders_chatml(processor):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Where is the carrot?"}]},
        {"role": "assistant", "content": "<ref>carrot</ref><box>[[1, 2, 3, 4]]</box>"},
        {"role": "user", "content": "And the plate?"},
    ]
    expected = (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\n<IMG_CONTEXT>\nWhere is the carrot?<|im_end|>\n"
        "<|im_start|>assistant\n<ref>carrot</ref><box>[[1, 2, 3, 4]]</box><|im_end|>\n"
        "<|im_start|>user\nAnd the plate?<|im_end|>\n"
    )
    assert processor.apply_chat_template(messages) == expected
    assert processor.apply_chat_template(messages, add_generation_prompt=True) == expected + "<|im_start|>assistant\n"


def test_image_placeholder_in_text_maps_to_context_token(processor):
    as_string = [{"role": "user", "content": "<image>\nWhere is the cup?"}]
    assert processor.apply_chat_template(as_string) == "<|im_start|>user\n<IMG_CONTEXT>\nWhere is the cup?<|im_end|>\n"
    # TRL turns string content into [image item, text item] while keeping the `<image>` placeholder in the text:
    # the image must be rendered once, at the placeholder.
    trl_style = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "<image>\nWhere?"}]}]
    assert processor.apply_chat_template(trl_style) == "<|im_start|>user\n<IMG_CONTEXT>\nWhere?<|im_end|>\n"


def test_assistant_mask_covers_exactly_the_answers_and_their_end_tokens(processor):
    messages = [
        {"role": "user", "content": [{"type": "image", "image": image()}, {"type": "text", "text": "Where is it?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "left 0"}]},
        {"role": "user", "content": [{"type": "text", "text": "And now?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<point>[[5, 6]]</point>"}]},
    ]
    output = processor.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, return_tensors="pt"
    )
    ids, mask = output["input_ids"][0], output["assistant_masks"][0].bool()
    assert (ids == processor.image_token_id).sum() == TINY_TOKENS_PER_TILE
    assert processor.decode(ids[mask]) == "left 0<|im_end|><point>[[5, 6]]</point><|im_end|>"
    # Everything else (image tokens, user turns, role headers, newlines) is outside the mask.
    assert processor.decode(ids[~mask]).count("<|im_start|>") == 4


def test_trl_collator_trains_only_on_assistant_tokens(processor):
    trl = pytest.importorskip("trl")
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    assert trl.__version__
    collator = DataCollatorForVisionLanguageModeling(processor=processor, assistant_only_loss=True)
    examples = [
        {
            "messages": [
                {"role": "user", "content": "What is left of the cup?"},
                {"role": "assistant", "content": "a"},
            ],
            "images": [image()],
        },
        {
            "messages": [{"role": "user", "content": "Plan."}, {"role": "assistant", "content": "1. Grasp the cup."}],
            "images": [image(seed=3)],
        },
    ]
    batch = collator(examples)
    assert batch["pixel_values"].shape == (2, 3, 224, 224)
    for row, answer in zip(batch["labels"], ["a", "1. Grasp the cup."], strict=True):
        assert processor.decode(row[row != -100]) == answer + "<|im_end|>"


# ----------------------------------------------------------------------------------------------------------------------
# Policy inputs
# ----------------------------------------------------------------------------------------------------------------------


def test_decoded_answers_keep_the_grounding_tags_and_stop_at_the_end_of_the_turn(processor):
    answers = ["<ref>red cube</ref><box>[[1, 2, 3, 4]]</box>", "<point>[[500, 250]]</point> done"]
    rows = [processor.tokenizer(text + "<|im_end|>", add_special_tokens=False)["input_ids"] for text in answers]
    pad = processor.tokenizer.pad_token_id
    width = max(map(len, rows)) + 3
    generated = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
    generated[1, len(rows[1])] = processor.tokenizer.convert_tokens_to_ids("<ref>")  # after the end: ignored
    assert processor.decode_answers(generated) == answers
    assert processor.tokenizer.decode(rows[0], skip_special_tokens=True) == "red cube[[1, 2, 3, 4]]"  # the trap


def test_prepare_policy_inputs(processor, normalizer):
    processor.normalizer = normalizer
    try:
        batch = processor.prepare_policy_inputs(
            [image(), np.zeros((48, 64, 3), dtype=np.uint8)],
            ["put the carrot on the plate", "open the drawer"],
            states=[[1.0, 0.0, 3.0], [0.0, 1.0, 0.5]],
            actions=np.array([[[1.0, 17.0]], [[2.0, -4.0]]]),
        )
    finally:
        processor.normalizer = None
    assert batch["pixel_values"].shape == (2, 3, 224, 224) and batch["pixel_values"].dtype == torch.float32
    ids, attention = batch["input_ids"], batch["attention_mask"]
    lengths = attention.sum(dim=1).tolist()
    assert lengths[0] > lengths[1]  # the longer instruction fills its row; the other is padded on the right
    assert attention[1, : lengths[1]].all() and not attention[1, lengths[1] :].any()
    assert (ids[1, lengths[1] :] == TINY_SPECIAL_TOKEN_IDS["<|endoftext|>"]).all()
    prompt = processor.decode(ids[1, : lengths[1]])
    image_span = "<img>" + "<IMG_CONTEXT>" * TINY_TOKENS_PER_TILE + "</img>"
    assert prompt == f"<|im_start|>user\n{image_span}\nopen the drawer<|im_end|>\n<|im_start|>assistant\n"
    # state: 2 (x - q01) / (q99 - q01) - 1, clipped: [1 in [0, 2], 0 in [-1, 1], 3 in [0, 1]] -> [0, 0, 1].
    torch.testing.assert_close(batch["state"], torch.tensor([[0.0, 0.0, 1.0], [-1.0, 1.0, 0.0]]), atol=1e-6, rtol=0)
    assert batch["state"].dtype == torch.float32
    # actions: dim 0 normalized, dim 1 raw.
    torch.testing.assert_close(batch["actions"], torch.tensor([[[0.0, 17.0]], [[1.0, -4.0]]]), atol=1e-6, rtol=0)


def test_policy_prompt_can_reproduce_the_official_system_turn():
    official = load_tiny_processor()
    official.policy_system_prompt = "None"
    batch = official.prepare_policy_inputs(image(), "pick coke can")
    image_span = "<img>" + "<IMG_CONTEXT>" * TINY_TOKENS_PER_TILE + "</img>"
    # The official Vlaser prompt (see research/paper-and-official-code.md §2.2).
    assert official.decode(batch["input_ids"][0]) == (
        f"<|im_start|>system\nNone<|im_end|>\n<|im_start|>user\n{image_span}\npick coke can<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert "state" not in batch
    padded = official.prepare_policy_inputs(image(), "pick coke can", padding="max_length", max_length=120)
    assert padded["input_ids"].shape == (1, 120)
    assert padded["attention_mask"].sum() == batch["input_ids"].shape[1]


@pytest.mark.parametrize(
    ("images", "error", "message"),
    [
        (None, ValueError, "images is required"),
        ([image(), None], ValueError, r"images\[1\] is missing"),
        ([np.zeros((32, 32, 3), dtype=np.float32)], ValueError, r"images\[0\] has dtype float32: .*uint8"),
        ([np.zeros((32, 32, 4), dtype=np.uint8)], ValueError, r"images\[0\] has shape \(32, 32, 4\): .*\(H, W, 3\)"),
        ([[image(), torch.zeros(3, 32, 32)]], TypeError, r"images\[0\]\[1\] is a torch.Tensor: expected a PIL"),
        ([], TypeError, "non-empty list"),
    ],
)
def test_prepare_policy_inputs_rejects_bad_images(processor, images, error, message):
    instructions = ["x"] * (len(images) if isinstance(images, list) and images else 1)
    with pytest.raises(error, match=message):
        processor.prepare_policy_inputs(images, instructions)


def test_prepare_policy_inputs_rejects_bad_states_and_batches(processor, normalizer):
    with pytest.raises(ValueError, match="this processor has no normalization statistics"):
        processor.prepare_policy_inputs([image()], ["x"], states=[[0.0, 0.0, 0.0]])
    processor.normalizer = normalizer
    try:
        with pytest.raises(ValueError, match=r"state contains NaN/inf at index \(1, 2\)"):
            processor.prepare_policy_inputs([image(), image()], ["x", "y"], states=[[0, 0, 0], [0, 0, np.nan]])
        with pytest.raises(ValueError, match=r"states must have shape \(batch=1, state_dim\)"):
            processor.prepare_policy_inputs([image()], ["x"], states=[0.0, 0.0, 0.0])
        with pytest.raises(ValueError, match=r"state must have shape \(\.\.\., 3\)"):
            processor.prepare_policy_inputs([image()], ["x"], states=[[0.0, 0.0]])
        with pytest.raises(ValueError, match="got 2 samples in `images` but 1 `instructions`"):
            processor.prepare_policy_inputs([image(), image()], ["x"])
    finally:
        processor.normalizer = None
    with pytest.raises(ValueError, match=r"the action prompt needs \d+ tokens but max_length is 40"):
        processor.prepare_policy_inputs([image()], ["x"], padding="max_length", max_length=40)
    with pytest.raises(ValueError, match="does not process videos"):
        processor(text=["hi"], videos=[np.zeros((2, 8, 8, 3), dtype=np.uint8)])


def test_without_statistics_normalization_is_an_error_not_an_identity(processor):
    assert processor.normalizer is None
    for method in (processor.normalize_state, processor.normalize_actions, processor.unnormalize_actions):
        with pytest.raises(ValueError, match="this processor has no normalization statistics; "):
            method(np.zeros((1, 2)))


# ----------------------------------------------------------------------------------------------------------------------
# Saving and loading
# ----------------------------------------------------------------------------------------------------------------------


def test_save_and_load_round_trip_is_exact(tmp_path, normalizer):
    original = load_tiny_processor(normalizer=normalizer)
    original.save_pretrained(tmp_path)
    stats = json.loads((tmp_path / NORMALIZATION_STATS_NAME).read_text())
    assert stats["action"]["raw_dims"] == [1]

    loaded = VlaserProcessor.from_pretrained(tmp_path)
    assert loaded.normalizer == normalizer  # bit-exact arrays and raw dims
    assert loaded.image_seq_length == TINY_TOKENS_PER_TILE
    assert loaded.chat_template == original.chat_template
    assert loaded.tokenizer.get_vocab() == original.tokenizer.get_vocab()
    assert loaded.image_processor.to_dict() == original.image_processor.to_dict()

    images, text = [image(), image(300, 90, seed=4)], ["<IMG_CONTEXT>\na", "<IMG_CONTEXT>\nlonger text here"]
    expected, actual = original(images=images, text=text, padding=True), loaded(images=images, text=text, padding=True)
    assert expected["input_ids"] == actual["input_ids"]
    assert np.array_equal(np.stack(expected["pixel_values"]), np.stack(actual["pixel_values"]))

    raw_actions = np.array([[0.5, 11.0], [1.5, 19.0]], dtype=np.float32)
    assert np.array_equal(loaded.normalize_actions(raw_actions), original.normalize_actions(raw_actions))


def test_saving_without_statistics_loads_none_and_drops_stale_files(tmp_path, normalizer):
    load_tiny_processor(normalizer=normalizer).save_pretrained(tmp_path)
    assert (tmp_path / NORMALIZATION_STATS_NAME).is_file()
    load_tiny_processor().save_pretrained(tmp_path)
    assert not (tmp_path / NORMALIZATION_STATS_NAME).exists()
    assert VlaserProcessor.from_pretrained(tmp_path).normalizer is None


# ----------------------------------------------------------------------------------------------------------------------
# The real InternVL3 tokenizer
# ----------------------------------------------------------------------------------------------------------------------


def test_internvl3_tokenizer_gives_256_tokens_per_448_tile(internvl3_tokenizer):
    processor = VlaserProcessor.from_tokenizer(internvl3_tokenizer)
    assert processor.image_token_id == 151667
    assert processor.tokenizer.convert_tokens_to_ids(["<img>", "</img>"]) == [151665, 151666]
    assert len(processor.tokenizer) == 151674  # no token past the released embedding matrix
    inputs = processor(images=[image(448, 448)], text=["<IMG_CONTEXT>\nDescribe."], return_tensors="pt")
    assert inputs["pixel_values"].shape == (1, 3, 448, 448)  # square: one tile, no thumbnail
    assert (inputs["input_ids"] == 151667).sum() == 256


def test_internvl_tiling_of_a_wide_image(internvl3_tokenizer):
    processor = VlaserProcessor.from_tokenizer(internvl3_tokenizer, max_patches=4)
    # 960 x 480 has aspect ratio 2: the best grid with at most 4 tiles is 2 x 1, plus the thumbnail = 3 tiles.
    inputs = processor(images=[image(960, 480)], text=["<IMG_CONTEXT>\nDescribe."], return_tensors="pt")
    assert inputs["pixel_values"].shape == (3, 3, 448, 448)
    assert (inputs["input_ids"] == 151667).sum() == 3 * 256


def test_internvl3_processor_save_load(tmp_path, internvl3_tokenizer, normalizer):
    processor = VlaserProcessor.from_tokenizer(internvl3_tokenizer, max_patches=6, normalizer=normalizer)
    processor.save_pretrained(tmp_path)
    loaded = VlaserProcessor.from_pretrained(tmp_path)
    assert loaded.image_token_id == 151667 and loaded.tokenizer.context_image_token == "<IMG_CONTEXT>"
    assert loaded.image_processor.max_patches == 6 and loaded.image_seq_length == 256
    assert loaded.normalizer == normalizer
