# Copyright 2025 The VLASER project. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Train the tiny preset's tokenizer: a 2048-token byte-level BPE shaped like the Qwen2.5 / InternVL3 one.

    python -m modeling_vlaser.tiny_tokenizer.build [OUTPUT_DIR]

(default: this folder). The corpus is generated here from fixed word lists and a seeded `random.Random`, and the
`tokenizers` BPE trainer is deterministic for a given corpus, so a rebuild writes byte-identical files (a test checks
this against the shipped ones).

The tokenizer has Qwen2's pre-tokenizer (its split regex, single digits, byte level) and 2048 ids: 2035 learned
byte-level tokens, then the InternVL3 special tokens at ids 2035..2047 (`TINY_SPECIAL_TOKEN_IDS`). `<point>` stays
plain text, as in the real tokenizer.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, trainers
from tokenizers.models import BPE
from transformers import Qwen2Tokenizer

from ..processing_vlaser import (
    INTERNVL_EXTRA_SPECIAL_TOKENS,
    TINY_SPECIAL_TOKEN_IDS,
    TINY_SPECIAL_TOKENS,
    TINY_VOCAB_SIZE,
    VLASER_CHAT_TEMPLATE,
)

# Qwen2's pre-tokenization regex (transformers' `models/qwen2/tokenization_qwen2.py`): numbers split into digits.
QWEN2_PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
SEED = 20250
MODEL_MAX_LENGTH = 8192

COLORS = ["red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black", "brown", "gray", "silver"]
OBJECTS = (
    "carrot, eggplant, spoon, fork, knife, towel, cloth, sponge, plate, bowl, cup, mug, bottle, can, coke can, "
    "pepsi can, apple, orange, banana, lemon, corn, potato, tomato, block, cube, basket, drawer, top drawer, "
    "middle drawer, bottom drawer, pot, pan, lid, kettle, bin, box, tray, shelf, cabinet, microwave, sink, "
    "faucet, table, counter, marker, pen, book, phone, remote, toy, bread, chip bag, rice chips, water bottle, "
    "sponge holder, dish rack, cutting board, hammer, screwdriver, shoe, hat, glass, jar"
).split(", ")
PLACES = (
    "on the plate, in the basket, into the drawer, on the towel, in the bowl, on the table, into the sink, on the "
    "shelf, next to the cup, inside the box, on top of the block, near the can, to the left of the plate, to the "
    "right of the bowl, in front of the mug, behind the bottle"
).split(", ")
VERBS = (
    "put, place, move, push, pick up, lift, grasp, stack, open, close, pour, wipe, flip, rotate, slide, drop, "
    "hand over, knock over, turn on, turn off, fold, unfold"
).split(", ")
RELATIONS = (
    "left of, right of, above, below, in front of, behind, next to, on top of, inside, closer to the camera than, "
    "farther from the robot than, between"
).split(", ")
ROBOTS = ("WidowX, Google Robot, Aloha, the left arm, the right arm, the gripper, the robot").split(", ")
STEPS = """
Move the gripper above the {obj}.
Lower the gripper.
Open the gripper.
Close the gripper.
Grasp the {obj}.
Lift the {obj}.
Move the {obj} {place}.
Release the {obj}.
Return to the home pose.
Rotate the wrist by {angle} degrees.
Push the {obj} forward.
Pull the drawer open.
Check the result.
""".strip().splitlines()
QUESTIONS = """
Where is the {obj}?
What color is the {obj}?
Is the {obj} {rel} the {obj2}?
How many {obj}s are on the table?
What should the robot do next to {task}?
Which object is closest to the gripper?
Is the gripper holding anything?
Has the task been completed?
Please provide the bounding box of the {obj}.
Point to the {obj}.
What is the robot doing?
How far is the {obj} from the {obj2}?
What is the height of the {obj}?
Describe the scene.
""".strip().splitlines()
GENERAL = (
    "the a an and or but if then else when while after before during until because so that this these those it its "
    "is are was were be been being has have had do does did can could should would will may might must not no yes "
    "there here where what which who how why all each every some any many much more most few less least one two "
    "three four five six seven eight nine ten first second third last next previous step steps task tasks answer "
    "question image camera view scene object objects robot arm arms gripper hand hands position point points box "
    "boxes coordinates normalized integers between format formatted directly return please provide locate several "
    "according descriptions your you we they he she I me my our their of in on at to from with without into onto "
    "over under up down left right front back top bottom middle center side near far close open empty full large "
    "small big little tall short long wide narrow heavy light soft hard clean dirty wet dry hot cold new old "
    "visible hidden occluded success failure done complete completed pick picking place placing move moving "
    "grasping holding held release released approach reach reaching align aligned rotate rotating lower lowering "
    "raise raising centimeters meters degrees distance height width depth size shape color colour relative "
    "absolute location direction orientation pose state action actions plan planning reasoning spatial grounding "
    "about approximately around roughly exactly only also still already again once twice"
).split()
MORE_OBJECTS = (
    "ball bag backpack bucket broom brush saucer candle chair clock comb container cookie cracker cushion desk "
    "dish door egg envelope eraser fan figurine flower folder fridge frying grape handle headphones helmet hook "
    "iron key keyboard ladle lamp laptop lettuce lock magazine mango mat melon mirror monitor mouse napkin necklace "
    "noodles notebook onion oven paper peach pear pencil pepper pillow pineapple pitcher plant plug pumpkin puzzle "
    "radio rag ruler salt scissors scrubber shampoo shirt soap socks spatula speaker stapler stool strawberry sugar "
    "tape teapot tissue toaster toothbrush umbrella vase wallet watch watermelon whisk window wrench yogurt zucchini "
    "kitchen bedroom bathroom office laboratory tabletop workbench countertop stove burner refrigerator dishwasher "
    "cupboard wardrobe closet floor wall ceiling corner edge surface region area background foreground"
).split()
REGULAR_VERBS = (
    "place move push lift grasp stack open close pour wipe flip rotate slide drop fold unfold insert remove clean "
    "arrange sort collect gather organize pack unpack fill empty press pull twist turn touch point locate detect "
    "identify count compare describe explain plan reach approach align adjust release hold carry transfer hang "
    "attach detach cover uncover shake scoop stir cut slice peel wash dry hand tilt raise lower extend retract"
).split()
ADJECTIVES = (
    "bright dark shiny transparent metallic wooden plastic ceramic glass paper fabric rubber round square "
    "rectangular cylindrical flat curved thin thick sharp blunt striped dotted fragile sturdy stable "
    "unstable upright tilted inverted leftmost rightmost topmost lowest highest nearest farthest closest biggest "
    "smallest tallest shortest heaviest lightest cleanest dirtiest partially fully slightly carefully gently "
    "quickly slowly firmly precisely horizontally vertically diagonally clockwise counterclockwise"
).split()
MORE_GENERAL = (
    "because although however therefore instead otherwise meanwhile finally initially currently previously "
    "following remaining another other same different similar opposite certain possible impossible necessary "
    "important correct incorrect true false likely unlikely probably definitely maybe perhaps usually often "
    "sometimes never always should shall need needs needed want wants wanted try tries tried see sees seen look "
    "looks looking find finds found show shows shown give gives given take takes taken make makes made keep keeps "
    "kept get gets got go goes going went come comes came stay stays stayed start starts started stop stops "
    "stopped finish finishes finished begin begins began use uses used change changes changed know knows known "
    "think thinks thought seem seems seemed appear appears appeared remain remains remained become becomes became "
    "contain contains contained include includes included require requires required allow allows allowed help "
    "helps helped avoid avoids avoided collide collision obstacle obstacles path trajectory waypoint waypoints "
    "target goal subgoal instruction instructions environment simulation simulator episode episodes frame frames "
    "time times second seconds minute minutes number numbers total percent ratio angle angles axis axes degree "
    "x y z coordinate pixel pixels width height image images photo picture region regions label labels "
    "category categories type types part parts piece pieces set pair group row column grid layer level"
).split()
VLASER_POINT_PROMPT = (
    "You are InternVL. Your task is to locate several points in the given image according to the task descriptions. "
    'Your answer should be formatted as "<point>[[x1, y1], [x2, y2],...]</point>". The point coordinates are '
    "normalized to integers between 0 and 1000. Return the answer in the point format directly."
)
VLASER_BOX_PROMPT = (
    'Your answer should be formatted as "<box>[[x1, y1, x2, y2], ...]</box>". The box coordinates are normalized to '
    "integers between 0 and 1000. Return the answer in the box format directly."
)


def _article(rng: random.Random, obj: str) -> str:
    return f"the {rng.choice(COLORS)} {obj}" if rng.random() < 0.3 else f"the {obj}"


def generate_corpus(seed: int = SEED) -> list[str]:
    """The training texts: embodied instructions, grounding answers, spatial QA, plans, numbers and common words."""
    rng = random.Random(seed)
    texts: list[str] = [VLASER_POINT_PROMPT, VLASER_BOX_PROMPT, " ".join(GENERAL), " ".join(GENERAL).capitalize()]
    texts += [" ".join(str(number) for number in range(start, start + 50)) for start in range(0, 1001, 50)]
    verb_forms = [
        form
        for verb in REGULAR_VERBS
        for form in (
            verb,
            verb + "s",
            verb + "d" if verb.endswith("e") else verb + "ed",
            verb[:-1] + "ing" if verb.endswith("e") else verb + "ing",
        )
    ]
    lexicon = sorted(set(GENERAL + MORE_GENERAL + MORE_OBJECTS + ADJECTIVES + verb_forms + COLORS))
    # Twice each, in two casings, so that every word passes the trainer's `min_frequency`.
    texts += [" ".join(lexicon), " ".join(word.capitalize() for word in lexicon), " ".join(reversed(lexicon))]
    for _ in range(2500):
        obj, obj2 = rng.choice(OBJECTS), rng.choice(OBJECTS)
        verb, place, rel = rng.choice(VERBS), rng.choice(PLACES), rng.choice(RELATIONS)
        task = f"{verb} {_article(rng, obj)} {place}"
        texts.append(task)
        texts.append(task.capitalize() + ".")
        question = rng.choice(QUESTIONS).format(obj=obj, obj2=obj2, rel=rel, task=task)
        texts.append(question)
        texts.append(" ".join(rng.sample(lexicon, 12)).capitalize() + ".")
        x1, y1 = rng.randint(0, 900), rng.randint(0, 900)
        x2, y2 = rng.randint(x1, 1000), rng.randint(y1, 1000)
        kind = rng.random()
        if kind < 0.25:
            texts.append(f"<ref>{obj}</ref><box>[[{x1}, {y1}, {x2}, {y2}]]</box>")
        elif kind < 0.5:
            points = ", ".join(f"[{rng.randint(0, 1000)}, {rng.randint(0, 1000)}]" for _ in range(rng.randint(1, 4)))
            texts.append(f"<point>[{points}]</point>")
        elif kind < 0.7:
            answer = rng.choice(["Yes", "No"])
            texts.append(f"{answer}, the {obj} is {rel} the {obj2}.")
        elif kind < 0.85:
            steps = [
                step.format(obj=obj, place=place, angle=rng.randint(0, 180))
                for step in rng.sample(STEPS, rng.randint(2, 5))
            ]
            texts.append("\n".join(f"{index + 1}. {step}" for index, step in enumerate(steps)))
        else:
            distance = f"{rng.randint(0, 99)}.{rng.randint(0, 9)}"
            texts.append(f"{rng.choice(ROBOTS)} is about {distance} centimeters from the {obj}.")
    return texts


def _without_special_tokens(texts: list[str]) -> Iterator[str]:
    # Special tokens are never split by the tokenizer, so merges that spell them would be wasted ids.
    pattern = re.compile("|".join(re.escape(token) for token in TINY_SPECIAL_TOKENS))
    for text in texts:
        for piece in pattern.split(text):
            if piece:
                yield piece


def train_tokenizer(texts: list[str]) -> Tokenizer:
    """Train the byte-level BPE (without special tokens) to exactly `TINY_VOCAB_SIZE - len(TINY_SPECIAL_TOKENS)` ids."""
    num_learned = TINY_VOCAB_SIZE - len(TINY_SPECIAL_TOKENS)
    tokenizer = Tokenizer(BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=num_learned,
        min_frequency=2,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_without_special_tokens(texts), trainer=trainer)
    if tokenizer.get_vocab_size() != num_learned:
        raise RuntimeError(
            f"the corpus yields {tokenizer.get_vocab_size()} learned tokens, not {num_learned}: enlarge the corpus"
        )
    return tokenizer


def build_tiny_tokenizer(output_dir: str | Path) -> list[str]:
    """Train the tiny tokenizer and save it (tokenizer.json, tokenizer_config.json, chat_template.jinja)."""
    import json

    learned = json.loads(train_tokenizer(generate_corpus()).to_str())["model"]
    vocab: dict[str, int] = dict(learned["vocab"])
    merges = [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ")) for merge in learned["merges"]]
    for token, token_id in TINY_SPECIAL_TOKEN_IDS.items():
        vocab[token] = token_id
    if sorted(vocab.values()) != list(range(TINY_VOCAB_SIZE)):
        raise RuntimeError("the tiny vocabulary must use every id in 0..2047 exactly once")

    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=dict(INTERNVL_EXTRA_SPECIAL_TOKENS),
        chat_template=VLASER_CHAT_TEMPLATE,
        model_max_length=MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces=False,
    )
    # All of them special, as in the InternVL3 tokenizer: never split, dropped by `skip_special_tokens`.
    tokenizer.add_tokens([AddedToken(token, special=True, normalized=False) for token in TINY_SPECIAL_TOKENS])
    if len(tokenizer) != TINY_VOCAB_SIZE:
        raise RuntimeError(f"the tiny tokenizer has {len(tokenizer)} tokens, expected {TINY_VOCAB_SIZE}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    return [str(path) for path in tokenizer.save_pretrained(output_dir)]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for written in build_tiny_tokenizer(target):
        print(written)
