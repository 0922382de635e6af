"""GRU-D encoder for irregularly sampled series (Che et al., 2018)."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.data.collate import SeriesBatch
from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.encoders.mlp import check_dims, check_rate
from omnifuse.encoders.recurrent import series_inputs
from omnifuse.errors import ConfigError


def _previous_observation(observed: torch.Tensor) -> torch.Tensor:
    """``(B, T, C)`` index of the last observed step strictly before each step, -1 if none."""
    T = observed.shape[1]
    steps = torch.arange(T, device=observed.device).view(1, T, 1)
    last = torch.where(observed, steps, torch.full_like(steps, -1)).cummax(dim=1).values
    return torch.cat([torch.full_like(last[:, :1], -1), last[:, :-1]], dim=1)


def time_since_observed(
    times: torch.Tensor, observed: torch.Tensor, step_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """GRU-D's ``delta``: per channel, time since the previous observation.

    ``delta[:, 0] = 0`` and ``delta[:, t] = s_t - s_{t'}`` where ``t'`` is the last step
    before ``t`` at which the channel was observed, or the first step when there is none
    (the recursion of Che et al.). Vectorised over batch, time and channels.

    Args:
        times: ``(B, T)`` time stamps.
        observed: ``(B, T, C)`` bool.
        step_mask: ``(B, T)`` bool real steps; ``delta`` is 0 on padding steps.

    Returns:
        ``(B, T, C)`` float tensor.
    """
    observed = observed.bool()
    if step_mask is not None:
        observed = observed & step_mask.bool().unsqueeze(-1)
    prev = _previous_observation(observed).clamp(min=0)
    times = times.float()
    stamps = times.unsqueeze(-1).expand_as(prev)
    delta = stamps - torch.gather(stamps, 1, prev)
    if step_mask is not None:
        delta = delta * step_mask.unsqueeze(-1).to(delta.dtype)
    return delta


def last_observed(values: torch.Tensor, observed: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """``(B, T, C)`` carried-forward value of the last observation strictly before each
    step (``fill``, shape ``(C,)``, where the channel has not been observed yet)."""
    prev = _previous_observation(observed.bool())
    carried = torch.gather(values, 1, prev.clamp(min=0))
    return torch.where(prev >= 0, carried, fill.to(values.dtype).expand_as(values))


@ENCODERS.register
class GRUDEncoder(Encoder):
    """GRU-D: a GRU whose input decays towards the mean and whose state decays with time.

    At each step, ``x_hat = m * x + (1 - m) * (g_x * x_last + (1 - g_x) * x_mean)`` with
    ``g_x = exp(-relu(w_x * delta + b_x))`` (per channel), the hidden state is decayed by
    ``g_h = exp(-relu(W_h delta + b_h))``, and a GRU cell reads ``[x_hat, m]``. The output is
    the hidden state at each row's last real step, projected; rows with no real step keep
    the zero initial state (finite output).

    Args:
        input_dim: number of channels C.
        output_dim: size of the embedding.
        hidden: GRU hidden size.
        dropout: dropout on the final hidden state.
        hidden_decay: decay the hidden state with time as in GRU-D (a Python loop over time
            steps). ``False`` feeds ``log(1 + delta)`` to a fused ``nn.GRU`` instead of
            decaying the state: several times faster on long series (PhysioNet), with the
            input decay kept.
        x_mean: ``(C,)`` empirical mean of each channel (default 0, the mean after
            standardisation); saved as a buffer.
    """

    name = "grud"
    kinds = ("timeseries",)
    default_for = ("timeseries",)

    search_space = {
        "hidden": {"type": "int", "low": 16, "high": 128, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    }

    x_mean: torch.Tensor  # registered buffer

    def __init__(
        self,
        input_dim: int,
        output_dim: int = 64,
        hidden: int = 64,
        dropout: float = 0.1,
        x_mean: torch.Tensor | None = None,
        hidden_decay: bool = True,
    ) -> None:
        super().__init__()
        check_dims("GRUDEncoder", input_dim=input_dim, output_dim=output_dim, hidden=hidden)
        check_rate("GRUDEncoder", "dropout", dropout)
        mean = torch.zeros(input_dim) if x_mean is None else torch.as_tensor(x_mean, dtype=torch.float32)
        if mean.shape != (input_dim,):
            raise ConfigError(f"GRUDEncoder: x_mean must have shape ({input_dim},), got {tuple(mean.shape)}")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.hidden = hidden
        self.register_buffer("x_mean", mean.clone())
        self.decay_x_weight = nn.Parameter(torch.full((input_dim,), 0.1))
        self.decay_x_bias = nn.Parameter(torch.zeros(input_dim))
        self.hidden_decay = hidden_decay
        if hidden_decay:
            self.decay_h = nn.Linear(input_dim, hidden)
            self.cell = nn.GRUCell(2 * input_dim, hidden)
        else:
            self.gru = nn.GRU(3 * input_dim, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden, output_dim)

    def forward(self, x: SeriesBatch) -> torch.Tensor:
        """:class:`SeriesBatch` with C channels -> ``(B, output_dim)``."""
        values, observed, step_mask = series_inputs(x, self.input_dim, type(self).__name__)
        times = torch.where(step_mask, x.times.float(), torch.zeros((), device=values.device))
        delta = time_since_observed(times, observed, step_mask)
        m = observed.to(values.dtype)
        mean = self.x_mean.to(values.dtype)
        x_last = last_observed(values, observed, mean)
        gamma_x = torch.exp(-torch.relu(delta * self.decay_x_weight + self.decay_x_bias))
        x_hat = m * values + (1 - m) * (gamma_x * x_last + (1 - gamma_x) * mean)
        if not self.hidden_decay:
            return self.proj(self.dropout(self._fused(torch.cat([x_hat, m, torch.log1p(delta)], dim=-1), step_mask)))
        gamma_h = torch.exp(-torch.relu(self.decay_h(delta)))
        inputs = torch.cat([x_hat, m], dim=-1)
        h = values.new_zeros(values.shape[0], self.hidden)
        for t in range(values.shape[1]):
            h_new = self.cell(inputs[:, t], gamma_h[:, t] * h)
            h = torch.where(step_mask[:, t].unsqueeze(-1), h_new, h)
        return self.proj(self.dropout(h))

    def _fused(self, inputs: torch.Tensor, step_mask: torch.Tensor) -> torch.Tensor:
        """Final hidden state of the fused GRU over each row's real steps (zeros if none)."""
        lengths = step_mask.sum(dim=1)
        if inputs.shape[1] == 0:
            return inputs.new_zeros(inputs.shape[0], self.hidden)
        packed = nn.utils.rnn.pack_padded_sequence(
            inputs, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, h = self.gru(packed)
        return torch.where((lengths > 0).unsqueeze(-1), h[-1], torch.zeros_like(h[-1]))
