"""The Trainer factory: CPU/GPU, precision, seeds, early stopping, checkpoints, logging, DDP."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger

from omnifuse.training.callbacks import BestWeights, StepSeed
from omnifuse.training.config import TrainerConfig


def monitor_mode(monitor: str) -> str:
    return "min" if monitor.endswith("loss") else "max"


def quiet_lightning() -> None:
    """Silence Lightning's informational chatter (GPU availability, tips, worker hints)."""
    for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*number of training batches.*")


def make_trainer(
    config: TrainerConfig,
    run_dir: Path | None = None,
    callbacks: list[Callback] | None = None,
    checkpoints: bool = False,
) -> L.Trainer:
    """A Trainer for ``config``.

    The best epoch's weights are kept in memory and restored at the end. With
    ``checkpoints`` (``omnifuse train``) the last epoch is also saved to
    ``run_dir/checkpoints/last.ckpt`` (with the best weights inside) so an interrupted run
    resumes. Logs go to ``run_dir/metrics.csv`` when a run_dir is given.
    """
    quiet_lightning()
    mode = monitor_mode(config.monitor)
    all_callbacks: list[Callback] = [
        StepSeed(config.seed),
        EarlyStopping(monitor=config.monitor, mode=mode, patience=config.patience, check_finite=False),
        BestWeights(config.monitor, mode),
    ]
    if checkpoints and run_dir is not None:
        all_callbacks.append(
            ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="epoch{epoch}", save_last=True, save_top_k=1)
        )
    if config.progress:
        all_callbacks.append(RichProgressBar(leave=False))
    all_callbacks.extend(callbacks or [])
    logger = CSVLogger(save_dir=str(run_dir), name="", version="logs") if run_dir is not None else False
    strategy = config.ddp if config.devices * config.num_nodes > 1 else "auto"
    return L.Trainer(
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=strategy,
        precision=config.precision,
        max_epochs=config.max_epochs,
        min_epochs=config.min_epochs,
        deterministic=config.deterministic,
        logger=logger,
        callbacks=all_callbacks,
        enable_checkpointing=checkpoints,
        enable_progress_bar=config.progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=config.log_every_n_steps,
        default_root_dir=str(run_dir) if run_dir is not None else None,
    )
