"""``gabor_match``: how Gabor-like learned filters are (notebook 02's bank against a CNN's first
layer).

Each filter is compared with every kernel of a Gabor bank by their **correlation** (Pearson's
r over the ``k x k`` weights: both are made zero-mean and unit-norm, then multiplied and summed);
1 is the same pattern up to brightness and contrast, 0 nothing in common. The bank holds both
signs (phases 0, 90, 180, 270 degrees), so the best match of a filter is its largest r.
A correlation means little alone: random filters also find some kernel of a large bank that
resembles them, and smooth random filters find a broad Gabor that resembles them well. Compare
with what untrained (random) filters score against the same bank, and with
``phase_scrambled`` copies: the same frequencies (the same smoothness), random phases, so that
every oriented, localised structure is gone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["correlations", "gabor_bank", "gabor_match", "phase_scrambled"]


def gabor_bank(
    size: int,
    orientations: int = 12,
    wavelengths: Sequence[float] = (3.0, 4.0, 6.0, 8.0, 12.0),
    phases: int = 4,
    sigma_ratio: float = 0.5,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """A bank of ``gabor_kernel(size, theta, wavelength, sigma_ratio * wavelength, psi)``.

    orientations: ``theta`` evenly over [0, 180) degrees; wavelengths: in pixels; phases:
    ``psi`` evenly over [0, 360) degrees. Returns ``(bank (B, size, size), params)``, one dict
    ``{"theta", "wavelength", "sigma", "psi"}`` (angles in degrees) per kernel,
    ``B = orientations * len(wavelengths) * phases``.
    """
    from coursecnn.widgets.kernels import gabor_kernel  # here: widgets imports explain

    for name, value in (("orientations", orientations), ("phases", phases)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if len(wavelengths) == 0:
        raise ValueError("wavelengths: expected at least one wavelength, got none")
    if not sigma_ratio > 0:
        raise ValueError(f"sigma_ratio: expected a positive number, got {sigma_ratio!r}")
    kernels, params = [], []
    for wl in wavelengths:
        for t in range(orientations):
            for p in range(phases):
                theta, psi = 180.0 * t / orientations, 360.0 * p / phases
                sigma = sigma_ratio * float(wl)
                kernels.append(
                    gabor_kernel(size, np.deg2rad(theta), float(wl), sigma, psi=np.deg2rad(psi))
                )
                params.append({"theta": theta, "wavelength": float(wl), "sigma": sigma, "psi": psi})
    return np.stack(kernels), params


def _unit_rows(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3:
        raise ValueError(f"{name}: expected kernels (F, k, k) or (F, 1, k, k), got shape {a.shape}")
    flat = a.reshape(len(a), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError(f"{name}: a kernel is constant; its correlation is undefined")
    return flat / norm


def correlations(filters: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Pearson correlation of every filter with every bank kernel: ``(F, B)``.

    filters: ``(F, k, k)`` or ``(F, 1, k, k)`` (a first layer's ``weight``); bank: ``(B, k, k)``.
    """
    f, b = _unit_rows(filters, "filters"), _unit_rows(bank, "bank")
    if f.shape[1] != b.shape[1]:
        raise ValueError(
            f"bank: expected kernels of the filters' size {np.shape(filters)[-2:]}, got "
            f"{np.shape(bank)[-2:]}"
        )
    return f @ b.T


def gabor_match(filters: np.ndarray, bank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each filter the best-matching bank kernel: ``(index (F,), correlation (F,))``."""
    r = correlations(filters, bank)
    best = r.argmax(axis=1)
    return best, r[np.arange(len(r)), best]


def phase_scrambled(filters: np.ndarray, seed: int = 0) -> np.ndarray:
    """Copies of ``filters`` ``(F, k, k)`` with the same 2-D amplitude spectrum (the same mix of
    frequencies and orientations' power) and random phases.

    Each filter's FFT keeps its magnitudes and takes the phases of the FFT of seeded white noise
    (Hermitian-symmetric, so the result is real); its inverse FFT is the surrogate.
    """
    f = np.asarray(filters, dtype=np.float64)
    if f.ndim == 4 and f.shape[1] == 1:
        f = f[:, 0]
    if f.ndim != 3:
        raise ValueError(
            f"filters: expected kernels (F, k, k) or (F, 1, k, k), got shape {f.shape}"
        )
    rng = np.random.default_rng(seed)
    phase = np.angle(np.fft.fft2(rng.standard_normal(f.shape)))
    return np.real(np.fft.ifft2(np.abs(np.fft.fft2(f)) * np.exp(1j * phase)))
