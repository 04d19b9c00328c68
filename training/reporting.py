"""What a training run leaves behind: a loss-curve PNG, the model with its processor and card, and the Hub upload."""

from __future__ import annotations

import os
from pathlib import Path

from transformers import TrainerCallback

from modeling_vlaser.hub import build_model_card, upload_folder_in_one_commit

LOSS_CURVE_NAME = "loss_curve.png"


def plot_loss_curve(log_history: list[dict], path: str | os.PathLike, title: str = "training loss") -> Path | None:
    """Loss (and per-dimension action losses, when logged) against the global step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(entry["step"], entry) for entry in log_history if "loss" in entry]
    if not points:
        return None
    per_dim_keys = sorted({key for _, entry in points for key in entry if key.startswith("action_loss/")})
    figure, axes = plt.subplots(1, 2 if per_dim_keys else 1, figsize=(11 if per_dim_keys else 6, 4), squeeze=False)
    steps = [step for step, _ in points]
    axes[0, 0].plot(steps, [entry["loss"] for _, entry in points], marker="o", markersize=3)
    axes[0, 0].set(xlabel="step", ylabel="loss", title=title, yscale="log")
    for key in per_dim_keys:
        series = [(step, entry[key]) for step, entry in points if key in entry]
        axes[0, 1].plot(*zip(*series, strict=True), label=key.removeprefix("action_loss/"))
    if per_dim_keys:
        axes[0, 1].set(xlabel="step", ylabel="flow-matching MSE", title="per action dimension", yscale="log")
        axes[0, 1].legend(fontsize=7, ncol=2)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


class LossCurveCallback(TrainerCallback):
    """Writes `loss_curve.png` into the output folder when training ends (main process only)."""

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            os.makedirs(args.output_dir, exist_ok=True)
            plot_loss_curve(state.log_history, Path(args.output_dir) / LOSS_CURVE_NAME)


def finalize_output(trainer, processor, datasets: list[str], base_model: str | None, recipe: str) -> Path:
    """Save the final model, processor (with any statistics) and a model card; upload them in one commit when the
    run was configured with `push_to_hub` (checkpoints and logs stay local)."""
    output_dir = Path(trainer.args.output_dir)
    trainer.save_model(str(output_dir))
    if not trainer.is_world_process_zero():
        return output_dir
    processor.save_pretrained(output_dir)
    model = trainer.accelerator.unwrap_model(trainer.model)
    is_policy = hasattr(model, "sample_actions")
    card = build_model_card(
        model.config,
        model_id=trainer.args.hub_model_id,
        base_model=base_model if base_model and "/" in base_model else None,
        datasets=[name.split(":")[0] for name in datasets if not Path(name.split(":")[0]).exists()],
        training_recipe=f"{recipe}\n\nData: {', '.join(datasets)}",
        pipeline_tag="robotics" if is_policy else "image-text-to-text",
    )
    card.save(output_dir / "README.md")
    if trainer.args.push_to_hub:
        upload_folder_in_one_commit(
            str(output_dir),
            trainer.args.hub_model_id or output_dir.name,
            private=trainer.args.hub_private_repo,
            token=trainer.args.hub_token,
            commit_message="Upload VLASER checkpoint",
            ignore_patterns=["checkpoint-*", "checkpoint-*/**", "runs/**", "*.tmp"],
        )
    return output_dir
