"""Tiny torch models for the PyTorch / Lightning tests (2 layers, trained for a few steps on CPU)."""

from __future__ import annotations

import torch


def make_data(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).float().unsqueeze(1)
    return X, y


class TwoLayer(torch.nn.Module):
    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def lit_module_class(pl):
    """A LightningModule class for the given Lightning package (``lightning.pytorch`` or ``pytorch_lightning``)."""

    class LitTwoLayer(pl.LightningModule):
        def __init__(self, lr: float = 0.05, hidden: int = 8) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = TwoLayer(hidden)

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, t = batch
            loss = torch.nn.functional.binary_cross_entropy_with_logits(self(x), t)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch, batch_idx):
            x, t = batch
            self.log("val_loss", torch.nn.functional.binary_cross_entropy_with_logits(self(x), t))

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    return LitTwoLayer


def loaders(batch_size: int = 32):
    from torch.utils.data import DataLoader, TensorDataset

    X, y = make_data()
    train = DataLoader(TensorDataset(X[:160], y[:160]), batch_size=batch_size)
    val = DataLoader(TensorDataset(X[160:], y[160:]), batch_size=40)
    return train, val


def trainer(pl, **kwargs):
    opts = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    opts.update(kwargs)
    return pl.Trainer(**opts)
