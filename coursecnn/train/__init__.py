"""Training: ``fit`` and ``evaluate`` on CPU, CUDA or MPS, history, checkpoints, seeding.

fit(model, train_loader, epochs=3, val_loader=...)  -> History (``.plot()``, ``.as_dict()``)
evaluate(model, loader)                             -> {"loss", "accuracy", "n"}
predict(model, loader)                              -> (preds, labels, probs)
predict_masks(model, images)                        -> per-pixel classes (N, H, W)
pixel_accuracy, iou_per_class, mean_iou             segmentation metrics
save_checkpoint / load_checkpoint                   atomic save, weights_only load
seed_everything(seed), limit_threads()              reproducible, polite runs
profile_settings(quick=..., full=...)               the setting for the active profile
"""

from coursecnn.train.checkpoint import load_checkpoint, save_checkpoint
from coursecnn.train.config import TrainConfig, profile_settings
from coursecnn.train.evaluate import evaluate, predict, predict_masks
from coursecnn.train.fit import fit
from coursecnn.train.history import History
from coursecnn.train.metrics import (
    accuracy,
    confusion_matrix,
    iou_per_class,
    mean_iou,
    pixel_accuracy,
    plot_confusion_matrix,
)
from coursecnn.train.progress import LivePlot, progress_bar
from coursecnn.train.seed import available_cpus, limit_threads, seed_everything
from coursecnn.train.tensor_loader import TensorLoader

__all__ = [
    "History",
    "LivePlot",
    "TensorLoader",
    "TrainConfig",
    "accuracy",
    "available_cpus",
    "confusion_matrix",
    "evaluate",
    "fit",
    "iou_per_class",
    "limit_threads",
    "load_checkpoint",
    "mean_iou",
    "pixel_accuracy",
    "plot_confusion_matrix",
    "predict",
    "predict_masks",
    "profile_settings",
    "progress_bar",
    "save_checkpoint",
    "seed_everything",
]
