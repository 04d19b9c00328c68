"""The four SimplerEnv Bridge (WidowX) tasks as plain data, so that listing and validating them needs no simulator.

Each entry names the ManiSkill3 environment, the two task objects (ManiSkill model id -> our short name and category,
which is what annotations and the in-domain QA data use), and how the scripted expert should grasp and place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectInfo:
    """One annotated task object."""

    model_id: str  # ManiSkill model id (folder under custom/models, actor name in the scene)
    name: str  # the name used in annotations and instructions
    category: str


@dataclass(frozen=True)
class WidowXTask:
    """Static description of one SimplerEnv Bridge task."""

    name: str  # our short name, the key of `simulation.widowx.TASKS`
    env_id: str  # the ManiSkill3 registered id
    instruction: str  # ManiSkill's own `get_language_instruction()`
    source: ObjectInfo
    target: ObjectInfo
    max_steps: int  # ManiSkill's max_episode_steps for the task
    scene: str  # "flat_table" | "sink"
    # Expert geometry (metres): fingertip height relative to the source object's centre when grasping, height of the
    # source object's centre above the target object's origin when releasing, and where on the target (in its own
    # frame) to release.
    grasp_height: float
    place_height: float
    place_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # Whether the target is an invisible helper whose annotation uses a projected silhouette, not segmentation.
    target_is_invisible: bool = False


CARROT = WidowXTask(
    name="carrot_on_plate",
    env_id="PutCarrotOnPlateInScene-v1",
    instruction="put carrot on plate",
    source=ObjectInfo("bridge_carrot_generated_modified", "carrot", "carrot"),
    target=ObjectInfo("bridge_plate_objaverse_larger", "plate", "plate"),
    max_steps=60,
    scene="flat_table",
    grasp_height=0.0,
    place_height=0.035,
)
SPOON = WidowXTask(
    name="spoon_on_towel",
    env_id="PutSpoonOnTableClothInScene-v1",
    instruction="put the spoon on the towel",
    source=ObjectInfo("bridge_spoon_generated_modified", "spoon", "spoon"),
    target=ObjectInfo("table_cloth_generated_shorter", "towel", "towel"),
    max_steps=60,
    scene="flat_table",
    grasp_height=0.0,
    place_height=0.03,
)
STACK_CUBE = WidowXTask(
    name="stack_cube",
    env_id="StackGreenCubeOnYellowCubeBakedTexInScene-v1",
    instruction="stack the green block on the yellow block",
    source=ObjectInfo("baked_green_cube_3cm", "green block", "block"),
    target=ObjectInfo("baked_yellow_cube_3cm", "yellow block", "block"),
    max_steps=60,
    scene="flat_table",
    grasp_height=-0.008,
    place_height=0.033,
)
EGGPLANT = WidowXTask(
    name="eggplant_in_basket",
    env_id="PutEggplantInBasketScene-v1",
    instruction="put eggplant into yellow basket",
    source=ObjectInfo("eggplant", "eggplant", "eggplant"),
    # ManiSkill's target is an invisible plane lying in the real photo's yellow dish rack; we annotate it as the basket.
    target=ObjectInfo("dummy_sink_target_plane", "yellow basket", "basket"),
    max_steps=120,
    scene="sink",
    grasp_height=0.0,
    place_height=0.06,
    place_offset=(0.015, 0.015, 0.0),
    target_is_invisible=True,
)

WIDOWX_TASKS: dict[str, WidowXTask] = {task.name: task for task in (CARROT, SPOON, STACK_CUBE, EGGPLANT)}
