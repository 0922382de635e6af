"""Modality dropout: Bernoulli masks on present modalities during training (seed paper 004)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from omnifuse.balance.base import STRATEGIES, Batch, Strategy, TrainingRun, check_unit
from omnifuse.data.collate import SeriesBatch
from omnifuse.errors import ConfigError
from omnifuse.tasks import TASK_NAMES


@STRATEGIES.register
class ModalityDropout(Strategy):
    """Drops each present modality of a training sample with probability p (keeps at least one).

    Seed paper 004 writes ``Z'_i = m_i * Z_i`` with ``m_i ~ Bernoulli``; here a dropped
    modality is turned *absent*: its mask entry becomes False (so every model treats it as
    missing) and its input row is blanked exactly like the rows of truly absent samples
    (fill value 0; series without observations; empty text). A sample never loses all of its
    present modalities: when every one of them is drawn, one of them, chosen at random, is kept.
    Only training batches are changed; validation and prediction see the data as it is.
    Labels are not read, so every task kind is supported (survival too).

    Args:
        p: drop probability, one number for all modalities or ``{modality: p}`` (modalities
            not listed are never dropped). Each value in [0, 1).
    """

    name = "modality-dropout"
    tasks = TASK_NAMES
    search_space = {"p": {"type": "float", "low": 0.05, "high": 0.5}}
    paper = (
        "Jasthi, Multi-modal learning approaches combining EHR, imaging, and genomic data "
        "(seed paper 004), modality dropout"
    )

    def __init__(self, p: float | Mapping[str, float] = 0.2) -> None:
        if isinstance(p, Mapping):
            self.p: float | dict[str, float] = {str(k): check_unit(v, f"p[{k!r}]") for k, v in p.items()}
        else:
            self.p = check_unit(p, "p")
        self.dropped = torch.zeros(0, dtype=torch.long)
        self.present = torch.zeros(0, dtype=torch.long)
        self.rate_history: list[dict[str, float]] = []
        self._modalities: tuple[str, ...] = ()

    # ------------------------------------------------------------------ probabilities
    def probabilities(self, modalities: tuple[str, ...]) -> torch.Tensor:
        """Drop probability per modality, in the order of ``modalities``."""
        if isinstance(self.p, dict):
            unknown = sorted(set(self.p) - set(modalities))
            if unknown:
                raise ConfigError(
                    f"strategy '{self.name}': p names unknown modalities {', '.join(unknown)} "
                    f"(modalities: {', '.join(modalities)})"
                )
            return torch.tensor([self.p.get(m, 0.0) for m in modalities], dtype=torch.float32)
        return torch.full((len(modalities),), float(self.p), dtype=torch.float32)

    def draw_mask(
        self, mask: torch.Tensor, probs: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """A new mask: each True entry turns False with its modality's probability, but a row
        that had a present modality keeps at least one (picked uniformly among its present ones)."""
        mask = mask.bool()
        probs = probs.to(mask.device)
        u = _rand(mask.shape, generator, mask.device)
        keep = mask & ~(u < probs.unsqueeze(0))
        emptied = mask.any(dim=1) & ~keep.any(dim=1)
        if bool(emptied.any()):
            # one present modality per emptied row, uniformly: argmax of random keys on present entries
            keys = _rand(mask.shape, generator, mask.device).masked_fill(~mask, -1.0)
            chosen = torch.nn.functional.one_hot(keys.argmax(dim=1), mask.shape[1]).bool()
            keep = torch.where(emptied.unsqueeze(1), chosen & mask, keep)
        return keep

    # ------------------------------------------------------------------ hook
    def transform_batch(self, batch: Batch, run: TrainingRun) -> Batch:
        modalities = tuple(run.modalities)
        probs = self.probabilities(modalities)
        if not bool((probs > 0).any()):
            return batch
        mask = batch["mask"].bool()
        new_mask = self.draw_mask(mask, probs)
        dropped = mask & ~new_mask
        self._count(modalities, mask, dropped)
        if not bool(dropped.any()):
            return batch
        inputs = dict(batch["inputs"])
        for j, name in enumerate(modalities):
            rows = dropped[:, j]
            if bool(rows.any()) and name in inputs:
                inputs[name] = blank_rows(inputs[name], rows)
        out = dict(batch)
        out["inputs"], out["mask"] = inputs, new_mask
        return out

    def _count(self, modalities: tuple[str, ...], mask: torch.Tensor, dropped: torch.Tensor) -> None:
        if self._modalities != modalities or self.present.numel() != len(modalities):
            self._modalities = modalities
            self.present = torch.zeros(len(modalities), dtype=torch.long)
            self.dropped = torch.zeros(len(modalities), dtype=torch.long)
        self.present += mask.sum(dim=0).cpu().long()
        self.dropped += dropped.sum(dim=0).cpu().long()

    def realised_rates(self) -> dict[str, float]:
        """Share of present modality entries dropped since the counters were last reset."""
        return {
            m: (float(d) / float(n) if n > 0 else 0.0)
            for m, d, n in zip(self._modalities, self.dropped.tolist(), self.present.tolist())
        }

    def training_epoch_start(self, run: TrainingRun) -> None:
        self.present.zero_()
        self.dropped.zero_()

    def training_epoch_done(self, run: TrainingRun) -> None:
        self.rate_history.append(self.realised_rates())

    def state_dict(self) -> dict[str, Any]:
        return {"rate_history": list(self.rate_history)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rate_history = list(state_dict.get("rate_history", []))


def _rand(shape: torch.Size, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform draws from ``generator`` (CPU) or the global torch generator, on ``device``."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator).to(device)


def blank_rows(x: Any, rows: torch.Tensor) -> Any:
    """``x`` (one modality of a batch) with ``rows`` made to look absent, without changing ``x``.

    Tensors get 0 in those rows, series batches lose every observation and step there, and
    texts become "" (what the collate step produces for absent samples). Other input types
    are returned unchanged: the mask alone marks the rows absent.
    """
    if isinstance(x, torch.Tensor):
        shape = (-1,) + (1,) * (x.dim() - 1)
        return torch.where(rows.to(x.device).view(shape), torch.zeros((), dtype=x.dtype, device=x.device), x)
    if isinstance(x, SeriesBatch):
        r = rows.to(x.values.device)
        r3 = r.view(-1, 1, 1)
        return SeriesBatch(
            torch.where(r3, torch.zeros((), dtype=x.values.dtype, device=r.device), x.values),
            x.observed & ~r3,
            torch.where(r.view(-1, 1), torch.zeros((), dtype=x.times.dtype, device=r.device), x.times),
            x.step_mask & ~r.view(-1, 1),
        )
    if isinstance(x, list):
        flags = rows.tolist()
        return ["" if f else v for v, f in zip(x, flags)]
    return x
