"""CNNs on text: TextCNN (Kim 2014) on word ids and a character-level CNN (Zhang, Zhao and
LeCun 2015) on character ids.

TextCNN: embeddings -> parallel 1-D convolutions of several widths (3, 4, 5; 100 filters each)
-> ReLU -> max over time (one number per filter, whatever the sentence length) -> concatenate
-> dropout 0.5 -> linear. The paper's "CNN-rand"/"non-static" (``freeze_embeddings=False``) or
"static" (``True``, with pretrained vectors loaded into ``embedding.weight``). Random embeddings
start uniform in [-0.25, 0.25], as in Kim's code (torch's default, N(0, 1), trains far worse).

Padding (``padding_idx`` given): each sentence is padded with ``width - 1`` zero vectors on both
sides, as in Kim's code, and the max runs only over the windows that hold at least one token of
the sentence; padding ids are zero vectors whatever their embedding row holds. So a sentence gets
the same logits alone or in a batch padded to a longer one, and a window of padding alone (whose
response is just the bias) never wins the max. Without ``padding_idx`` every position is a
token.

Character CNN ("small" model of the paper, 70 characters, 1014 long): one-hot characters ->
six 1-D convolutions (7, 7, 3, 3, 3, 3; 256 filters), max-pool 3 after the 1st, 2nd and 6th ->
FC 1024, 1024 with dropout 0.5 -> classes. 1014 characters leave 34 positions: 256*34 = 8,704
features. Id 0 is "unknown/padding" and is encoded as the zero vector, as in the paper.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._util import check_positive, conv_out, scaled

#: Kim (2014)'s code draws random word vectors from U[-0.25, 0.25]
EMBEDDING_INIT = 0.25


class TextCNN(nn.Module):
    """ids: (N, L) LongTensor -> logits (N, num_classes).

    Without ``padding_idx``, L must be at least the widest filter; with it, any L >= 1, and
    the sentences may be right-padded with ``padding_idx``.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int = 2,
        embed_dim: int = 300,
        widths: Sequence[int] = (3, 4, 5),
        filters: int = 100,
        dropout: float = 0.5,
        padding_idx: int | None = None,
        freeze_embeddings: bool = False,
    ):
        super().__init__()
        for name, v in (("vocab_size", vocab_size), ("num_classes", num_classes),
                        ("embed_dim", embed_dim), ("filters", filters)):  # fmt: skip
            check_positive(name, v)
        if not widths:
            raise ValueError("widths: expected at least one filter width, got ()")
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        with torch.no_grad():
            self.embedding.weight.uniform_(-EMBEDDING_INIT, EMBEDDING_INIT)
            if padding_idx is not None:
                self.embedding.weight[padding_idx] = 0
        self.embedding.weight.requires_grad_(not freeze_embeddings)
        pad = padding_idx is not None
        self.convs = nn.ModuleList(
            nn.Conv1d(embed_dim, filters, w, padding=w - 1 if pad else 0) for w in widths
        )
        # one ReLU module per width, so that health_report can watch each width's filters
        self.relus = nn.ModuleList(nn.ReLU() for _ in widths)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(filters * len(widths), num_classes)

    def features(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """Each width's ReLU responses ``(N, filters, T)``, windows that are only padding at -inf.

        Without padding, T = L - width + 1 and window t holds tokens t .. t + width - 1; with
        padding, T = L + width - 1 and window t holds tokens t - width + 1 .. t.
        """
        if ids.dim() != 2:
            raise ValueError(f"ids: expected a 2-D tensor (N, L), got shape {tuple(ids.shape)}")
        x = self.embedding(ids)  # (N, L, embed_dim)
        if self.padding_idx is None:
            return [
                relu(conv(x.transpose(1, 2)))
                for conv, relu in zip(self.convs, self.relus, strict=True)
            ]
        tokens = (ids != self.padding_idx).unsqueeze(1)  # (N, 1, L)
        x = x.transpose(1, 2) * tokens  # (N, embed_dim, L); padding is the zero vector
        out = []
        for conv, relu in zip(self.convs, self.relus, strict=True):
            w = conv.kernel_size[0]
            ones = torch.ones(1, 1, w, device=ids.device)
            has_token = F.conv1d(tokens.float(), ones, padding=w - 1) > 0  # (N, 1, L + w - 1)
            # padding-only windows are 0 after the ReLU (so that they never count as firing),
            # then -inf, so that max over time never picks them
            h = relu(conv(x).masked_fill(~has_token, float("-inf")))  # (N, F, L + w - 1)
            out.append(h.masked_fill(~has_token, float("-inf")))
        return out

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pooled = [h.amax(dim=2) for h in self.features(ids)]  # max over time: (N, F) each
        pooled = torch.cat(pooled, dim=1).clamp_min(0)  # a sentence of padding only: 0, not -inf
        return self.fc(self.dropout(pooled))


@torch.no_grad()
def top_ngrams(
    model: TextCNN, ids: torch.Tensor, width_index: int, filters: Sequence[int], k: int = 5
) -> list[list[tuple[tuple[int, ...], float]]]:
    """What filters respond to: for each filter, its ``k`` strongest distinct windows in ``ids``.

    ids: (N, L) sentences (moved to the model's device); width_index: which of ``model.convs``;
    returns, per filter, pairs ``(window token ids, ReLU response)``, strongest first; ids
    beyond the sentence are padding.
    """
    if not 0 <= width_index < len(model.convs):
        raise ValueError(f"width_index: expected 0 .. {len(model.convs) - 1}, got {width_index}")
    was_training = model.training
    model.eval()
    try:
        weight = model.embedding.weight
        h = model.features(ids.to(weight.device))[width_index].float().cpu()  # (N, F, T)
    finally:
        model.train(was_training)
    ids = ids.cpu()
    w = model.convs[width_index].kernel_size[0]
    if model.padding_idx is not None:
        ids = F.pad(ids, (w - 1, w - 1), value=model.padding_idx)
    out = []
    for f in filters:
        values, order = h[:, f].flatten().sort(descending=True)
        seen: dict[tuple[int, ...], float] = {}
        for v, i in zip(values.tolist(), order.tolist(), strict=True):
            if len(seen) == k or v == float("-inf"):
                break
            n, t = divmod(i, h.shape[2])
            seen.setdefault(tuple(ids[n, t : t + w].tolist()), v)
        out.append(list(seen.items()))
    return out


def text_cnn(
    vocab_size: int,
    num_classes: int = 2,
    embed_dim: int = 300,
    widths: Sequence[int] = (3, 4, 5),
    filters: int = 100,
    dropout: float = 0.5,
    padding_idx: int | None = None,
    freeze_embeddings: bool = False,
) -> TextCNN:
    """Kim's TextCNN; defaults are the paper's (300-d embeddings, widths 3/4/5, 100 filters
    each, dropout 0.5). Course size: ``text_cnn(5000, embed_dim=32, filters=16)``."""
    return TextCNN(
        vocab_size, num_classes, embed_dim, widths, filters, dropout, padding_idx, freeze_embeddings
    )


class OneHot(nn.Module):
    """ids: (N, L) in [0, alphabet_size] -> (N, alphabet_size, L); id 0 is the zero vector."""

    def __init__(self, alphabet_size: int):
        super().__init__()
        self.alphabet_size = alphabet_size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dim() != 2:
            raise ValueError(f"ids: expected a 2-D tensor (N, L), got shape {tuple(ids.shape)}")
        x = F.one_hot(ids, self.alphabet_size + 1)[..., 1:]
        return x.transpose(1, 2).float()


#: Zhang et al. 2015, Table 1: (kernel, pooling after it)
CHAR_CONVS = ((7, 3), (7, 3), (3, None), (3, None), (3, None), (3, 3))


def char_cnn(
    alphabet_size: int = 70,
    num_classes: int = 4,
    length: int = 1014,
    features: int = 256,
    fc: int = 1024,
    dropout: float = 0.5,
    width: float = 1.0,
) -> nn.Sequential:
    """Character-level CNN; ids: (N, length) in [0, alphabet_size] -> logits (N, num_classes).

    Defaults: the paper's small model (``features=1024, fc=2048`` is the large one; the paper's
    data sets have 2 to 14 classes, 4 for AG News). Course size:
    ``char_cnn(length=128, width=0.125)``. The shortest length the convolutions and the three
    poolings leave a position of is 123; shorter ones raise ``ValueError``.
    """
    check_positive("alphabet_size", alphabet_size)
    check_positive("num_classes", num_classes)
    c = scaled(features, width)
    layers: OrderedDict[str, nn.Module] = OrderedDict(onehot=OneHot(alphabet_size))
    c_in, size = alphabet_size, length
    for i, (k, pool) in enumerate(CHAR_CONVS, start=1):
        layers[f"conv{i}"] = nn.Conv1d(c_in, c, k)
        layers[f"relu{i}"] = nn.ReLU(inplace=True)
        size = conv_out(size, k)
        if pool:
            layers[f"pool{i}"] = nn.MaxPool1d(pool)
            size = conv_out(size, pool, pool)
        c_in = c
        if size < 1:
            raise ValueError(f"length: too short for the six convolutions, got {length}")
    f = scaled(fc, width)
    layers["flatten"] = nn.Flatten()
    layers["fc1"] = nn.Linear(c * size, f)
    layers["relu7"] = nn.ReLU(inplace=True)
    layers["dropout1"] = nn.Dropout(dropout)
    layers["fc2"] = nn.Linear(f, f)
    layers["relu8"] = nn.ReLU(inplace=True)
    layers["dropout2"] = nn.Dropout(dropout)
    layers["fc3"] = nn.Linear(f, num_classes)
    return nn.Sequential(layers)
