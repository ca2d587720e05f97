"""Training: ``fit`` and ``evaluate`` on CPU, CUDA or MPS, history, checkpoints, seeding.

fit(model, train_loader, epochs=3, val_loader=...)  -> History (``.plot()``, ``.as_dict()``)
evaluate(model, loader)                             -> {"loss", "accuracy", "n"}
predict(model, loader)                              -> (preds, labels, probs)
predict_outputs(model, x), predict_masks(model, x) -> outputs; per-pixel classes (N, H, W)
pixel_accuracy, iou_per_class, mean_iou             segmentation metrics
image_quality(images, references)                   PSNR, SSIM (skimage), edge ratio
few_labels, linear_probe, principal_components     few labels; logistic regression; PCA
save_checkpoint / load_checkpoint                   atomic save, weights_only load
health_report(model, loader)                        dead ReLU channels, vanishing gradients
reseed_loader(loader, seed)                         restart a loader's shuffle (fit does it)
loader_digest(loader, epochs, seed)                 the batches' fingerprint, without training
seed_everything(seed), limit_threads()              reproducible, polite runs
profile_settings(quick=..., full=...)               the setting for the active profile
"""

from coursecnn.train.checkpoint import load_checkpoint, save_checkpoint
from coursecnn.train.compare import Compared, Spread, fit_same_batches
from coursecnn.train.config import TrainConfig, profile_settings
from coursecnn.train.evaluate import evaluate, predict, predict_masks, predict_outputs
from coursecnn.train.fit import fit
from coursecnn.train.health import DeadChannelTracker, HealthReport, health_report
from coursecnn.train.history import History
from coursecnn.train.metrics import (
    accuracy,
    confusion_matrix,
    image_quality,
    iou_per_class,
    mean_iou,
    pixel_accuracy,
    plot_confusion_matrix,
)
from coursecnn.train.optimizers import paper_sgd
from coursecnn.train.probe import ProbeResult, few_labels, linear_probe, principal_components
from coursecnn.train.progress import LivePlot, progress_bar, static_output
from coursecnn.train.reseed import BatchDigest, loader_digest, reseed_loader
from coursecnn.train.seed import available_cpus, limit_threads, seed_everything
from coursecnn.train.tensor_loader import TensorLoader

__all__ = [
    "BatchDigest",
    "Compared",
    "DeadChannelTracker",
    "HealthReport",
    "History",
    "LivePlot",
    "ProbeResult",
    "Spread",
    "TensorLoader",
    "TrainConfig",
    "accuracy",
    "available_cpus",
    "confusion_matrix",
    "evaluate",
    "few_labels",
    "fit",
    "fit_same_batches",
    "health_report",
    "image_quality",
    "iou_per_class",
    "limit_threads",
    "linear_probe",
    "load_checkpoint",
    "mean_iou",
    "paper_sgd",
    "pixel_accuracy",
    "plot_confusion_matrix",
    "predict",
    "predict_masks",
    "predict_outputs",
    "principal_components",
    "profile_settings",
    "progress_bar",
    "loader_digest",
    "reseed_loader",
    "save_checkpoint",
    "seed_everything",
    "static_output",
]
