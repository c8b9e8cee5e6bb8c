"""Windows of a capture for torch: each item is (input with receptive-field history, target).

Training windows are equal-length and shuffled; validation/test windows cover their whole segment
(the last one shorter, hence batch size 1). An item's input is `history` samples longer than its
target, so the model's valid (unpadded) forward yields exactly one prediction per target sample and the
loss never counts a sample whose context was invented.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from training import recipe
from training.capture import Capture, Segment, split, window_starts

EVAL_WINDOW = 1 << 16


class SegmentWindows(Dataset):
    def __init__(self, segment: Segment, window: int, drop_short: bool):
        self.segment, self.window = segment, window
        starts = window_starts(segment.target.size, window)
        if drop_short:
            starts = starts[starts + window <= segment.target.size]
        self.starts = starts

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int):
        s, h = int(self.starts[i]), self.segment.history
        e = min(s + self.window, self.segment.target.size)
        x = torch.from_numpy(self.segment.input[s:e + h].copy())
        y = torch.from_numpy(self.segment.target[s:e].copy())
        return x[None], y[None]  # (1, T + h) and (1, T): channel-first like Conv1d


class CaptureData(L.LightningDataModule):
    def __init__(self, capture: Capture, history: int, window: int, batch_size: int,
                 fractions=recipe.SPLIT):
        super().__init__()
        self.segments = split(capture, history, fractions)
        self.window, self.batch_size = window, batch_size
        train_targets = self.segments["train"].target.size
        if train_targets < window:
            # short captures (tests, demos): one window spanning the whole train split
            self.window = train_targets

    @property
    def steps_per_epoch(self) -> int:
        windows = len(SegmentWindows(self.segments["train"], self.window, drop_short=True))
        return max(1, -(-windows // self.batch_size))

    def train_dataloader(self):
        return DataLoader(SegmentWindows(self.segments["train"], self.window, drop_short=True),
                          batch_size=self.batch_size, shuffle=True, drop_last=False)

    def val_dataloader(self):
        return DataLoader(SegmentWindows(self.segments["validation"], EVAL_WINDOW, drop_short=False), batch_size=1)

    def test_dataloader(self):
        return DataLoader(SegmentWindows(self.segments["test"], EVAL_WINDOW, drop_short=False), batch_size=1)


@torch.no_grad()
def predict_segment(network, segment: Segment) -> np.ndarray:
    """The network's prediction for every target sample of `segment` (valid forward, full context)."""
    ds = SegmentWindows(segment, EVAL_WINDOW, drop_short=False)
    return torch.cat([network(ds[i][0][None])[0, 0] for i in range(len(ds))]).numpy()
