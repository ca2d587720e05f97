"""coursecnn.data: the shipped samples and their checksums, the full sets (found on disk or
downloaded by torchvision from a server on 127.0.0.1), photos, torch loaders, and the plots."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from loopback import serve_folder

from coursecnn import data, plots
from coursecnn.data import full, samples
from coursecnn.data.idx import read_idx, write_idx
from coursecnn.data.text import SENTENCE_FILES

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"digits": (4000, 500), "fashion_mnist": (10000, 2000)}
LOADERS = {"digits": data.digits, "fashion_mnist": data.fashion_mnist}


# -- the shipped samples ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SIZES))
def test_sample_shapes_dtypes_ranges_and_balance(name):
    for split, n in zip(("train", "test"), SIZES[name], strict=True):
        x, y = LOADERS[name](split)
        assert x.shape == (n, 28, 28) and x.dtype == np.uint8
        assert y.shape == (n,) and y.dtype == np.int64
        assert x.max() > 200 and x.min() == 0
        assert np.array_equal(np.bincount(y, minlength=10), np.full(10, n // 10))


@pytest.mark.parametrize("name", sorted(SIZES))
def test_sample_train_and_test_share_no_image(name):
    x_train, _ = LOADERS[name]("train")
    x_test, _ = LOADERS[name]("test")
    train_rows = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    assert not any(row.tobytes() in train_rows for row in x_test.reshape(len(x_test), -1))


def test_digits_check_split_is_the_other_half_of_the_held_out_digits():
    x_check, y_check = data.digits("check")
    assert x_check.shape == (500, 28, 28) and np.array_equal(np.bincount(y_check), np.full(10, 50))
    rows = {
        split: {r.tobytes() for r in data.digits(split)[0].reshape(-1, 784)}
        for split in ("train", "test", "check")
    }
    assert not rows["check"] & rows["test"] and not rows["check"] & rows["train"]
    stored = np.load(data.SHIPPED_DIR / "digits.npz")["x_test"].reshape(-1, 784)
    assert rows["check"] | rows["test"] == {r.tobytes() for r in stored}  # the 1,000 held out
    with pytest.raises(ValueError, match="no 'check' split"):
        data.fashion_mnist("check")


def test_samples_return_fresh_copies():
    x, y = data.digits("train")
    x[:] = 0
    y[:] = 0
    x2, y2 = data.digits("train")
    assert x2.max() > 0 and y2.max() == 9


def test_bad_split_names_the_argument():
    with pytest.raises(ValueError, match="split: expected one of"):
        data.fashion_mnist("validation")
    with pytest.raises(ValueError, match="split"):
        data.mnist("dev")


def test_class_names():
    assert data.FASHION_CLASSES[0] == "T-shirt/top" and data.FASHION_CLASSES[9] == "Ankle boot"
    assert len(data.FASHION_CLASSES) == len(data.DIGIT_CLASSES) == 10


def test_manifest_matches_the_files_and_the_readme():
    readme = (ROOT / "data" / "README.md").read_text()
    for name, entry in samples.manifest().items():
        path = ROOT / "data" / name
        assert samples.sha256(path) == entry["sha256"]
        assert path.stat().st_size == entry["bytes"]
        assert entry["sha256"] in readme and name in readme
    shipped = (
        set(samples.SAMPLES.values())
        | set(SENTENCE_FILES.values())
        | {"names.tsv.bz2", "word_vectors.npz"}
    )
    assert set(samples.manifest()) == shipped


def test_shipped_data_fits_in_10_mb():
    shipped = [ROOT / "data" / n for n in samples.manifest()] + [ROOT / "data" / "README.md"]
    assert sum(p.stat().st_size for p in shipped) <= 10 * 2**20


def test_a_corrupted_sample_is_refused_with_its_name(shipped_copy):
    path = shipped_copy / "fashion_mnist_sample.npz"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"fashion_mnist_sample\.npz.*corrupted.*git checkout"):
        data.fashion_mnist("train")
    data.digits("test")  # the other file is fine


def test_a_truncated_sample_is_refused_with_its_name(shipped_copy):
    path = shipped_copy / "digits.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"digits\.npz.*truncated.*build_data\.py"):
        data.digits("train")


def test_a_missing_sample_says_how_to_restore_it(shipped_copy):
    (shipped_copy / "digits.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"digits\.npz.*git checkout -- data/digits\.npz"):
        data.digits("train")


def test_a_sample_changed_after_loading_is_checked_again(shipped_copy):
    data.digits("train")
    path = shipped_copy / "digits.npz"
    time.sleep(0.01)
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="digits.npz"):
        data.digits("train")


# -- IDX files -------------------------------------------------------------------------------


def test_idx_round_trip_and_truncation(tmp_path):
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        assert np.array_equal(read_idx(write_idx(tmp_path / name, x)), x)
    raw = (tmp_path / "a-idx3-ubyte").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(ValueError, match="short.*truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "short.gz").write_bytes((tmp_path / "a-idx3-ubyte.gz").read_bytes()[:-6])
    with pytest.raises(ValueError, match="short.gz"):
        read_idx(tmp_path / "short.gz")


# -- the full sets ---------------------------------------------------------------------------


@pytest.mark.skipif(
    not (full.DEBIAN_FASHION_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="no Debian copy of Fashion-MNIST: apt-get install dataset-fashion-mnist (CI does)",
)
def test_full_fashion_from_the_debian_copy(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSECNN_DATA", str(tmp_path))
    monkeypatch.setenv("COURSECNN_OFFLINE", "1")
    monkeypatch.setattr(samples, "SHIPPED_DIR", tmp_path)  # no copy under the repository's data/
    assert data.find_full("fashion_mnist") == full.DEBIAN_FASHION_DIR
    x_train, y_train = data.fashion_mnist("train", full=True)
    x_test, y_test = data.fashion_mnist("test", full=True)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert np.array_equal(np.bincount(y_train), np.full(10, 6000))
    assert np.array_equal(np.bincount(y_test), np.full(10, 1000))
    # the shipped sample is rows of it, as its indices say
    with np.load(ROOT / "data" / "fashion_mnist_sample.npz") as npz:
        assert np.array_equal(x_train[npz["i_train"]], npz["x_train"])
        assert np.array_equal(y_test[npz["i_test"]], npz["y_test"])


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tiny, valid IDX files; yields (url, folder, log)."""
    folder = tmp_path / "served"
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 20)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8)
        )
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    with serve_folder(folder) as (url, log):
        yield url + "/", folder, log


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No full copy anywhere: empty data roots, no Debian folder; downloads go to the root."""
    root = tmp_path / "root"
    monkeypatch.setenv("COURSECNN_DATA", str(root))
    monkeypatch.delenv("COURSECNN_OFFLINE", raising=False)
    monkeypatch.setattr(samples, "SHIPPED_DIR", tmp_path / "shipped")
    monkeypatch.setattr(full, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    return root


def _point_torchvision_at(monkeypatch, name, url, folder):
    cls = full.torchvision_class(name)
    resources = [
        (f.name, hashlib.md5(f.read_bytes()).hexdigest()) for f in sorted(folder.glob("*.gz"))
    ]
    monkeypatch.setattr(cls, "mirrors", [url])
    monkeypatch.setattr(cls, "resources", resources)


@pytest.mark.parametrize("name", ["fashion_mnist", "mnist"])
def test_download_through_torchvision_from_a_local_server(name, server, nowhere, monkeypatch):
    url, folder, log = server
    _point_torchvision_at(monkeypatch, name, url, folder)
    get = (
        functools.partial(data.fashion_mnist, full=True) if name == "fashion_mnist" else data.mnist
    )
    x, y = get("train")
    assert x.shape == (30, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.array_equal(x, read_idx(folder / "train-images-idx3-ubyte.gz"))
    x_test, y_test = get("test")
    assert x_test.shape == (20, 28, 28) and np.array_equal(y_test, np.arange(20) % 10)
    assert {p.lstrip("/") for p in log} == {f.name for f in folder.glob("*.gz")}
    requests = len(log)
    get("train")
    assert len(log) == requests  # downloaded once, then found on disk
    layout = "FashionMNIST" if name == "fashion_mnist" else "MNIST"
    assert data.find_full(name) == nowhere / layout / "raw"
    assert not list(nowhere.glob(".download-*"))


def test_a_bad_checksum_is_a_clear_error_and_leaves_nothing(server, nowhere, monkeypatch):
    url, folder, _ = server
    _point_torchvision_at(monkeypatch, "fashion_mnist", url, folder)
    cls = full.torchvision_class("fashion_mnist")
    monkeypatch.setattr(cls, "resources", [(f, "0" * 32) for f, _ in cls.resources])
    with pytest.raises(FileNotFoundError, match="download failed"):
        data.fashion_mnist("train", full=True)
    assert data.find_full("fashion_mnist") is None
    assert not list(nowhere.glob(".download-*"))


def test_offline_with_no_copy_is_a_clear_error_not_a_hang(nowhere, monkeypatch):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(full.torchvision_class("mnist"), "mirrors", [f"http://127.0.0.1:{port}/"])
    start = time.monotonic()
    with pytest.raises(FileNotFoundError) as err:
        data.mnist("train")
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert "No full copy of MNIST" in message and str(nowhere / "mnist") in message
    assert "COURSECNN_DATA" in message and "download failed" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert not list(nowhere.glob(".download-*"))


def test_a_server_that_never_answers_times_out(nowhere, monkeypatch):
    with socket.socket() as silent:  # accepts connections (backlog), never sends a byte
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        monkeypatch.setattr(full.torchvision_class("mnist"), "mirrors", [url])
        monkeypatch.setattr(full, "DOWNLOAD_TIMEOUT_S", 0.5)
        start = time.monotonic()
        with pytest.raises(FileNotFoundError, match="download failed.*timed out"):
            data.mnist("test")
        assert time.monotonic() - start < 10
    assert socket.getdefaulttimeout() is None  # restored


def test_offline_flag_and_no_download_skip_the_network(nowhere, monkeypatch):
    monkeypatch.setattr(full.torchvision_class("fashion_mnist"), "mirrors", ["http://0.0.0.0:9/"])
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.fashion_mnist("test", full=True, download=False)
    monkeypatch.setenv("COURSECNN_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="COURSECNN_OFFLINE"):
        data.fashion_mnist("test", full=True)


def test_a_flat_folder_under_the_data_root_is_found(nowhere, server):
    _, folder, log = server
    shutil.copytree(folder, nowhere / "fashion-mnist")
    assert data.find_full("fashion_mnist") == nowhere / "fashion-mnist"
    x, _ = data.fashion_mnist("test", full=True)
    assert x.shape == (20, 28, 28) and not log


# -- photos ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", data.PHOTOS)
def test_photos_are_floats_in_0_1(name):
    img = data.photo(name)
    assert img.dtype == np.float64 and img.ndim in (2, 3)
    assert img.ndim == 2 or img.shape[2] == 3
    assert 0.0 <= img.min() and img.max() <= 1.0 and img.max() > img.min()


def test_photo_gray_size_and_unknown_name():
    assert data.photo("astronaut").shape == (512, 512, 3)
    assert data.photo("astronaut", gray=True).shape == (512, 512)
    small = data.photo("chelsea", size=(30, 40))
    assert small.shape == (30, 40, 3) and 0 <= small.min() and small.max() <= 1
    assert data.photo("camera", size=64).shape == (64, 64)
    with pytest.raises(ValueError, match=r"name: expected one of .*camera.*got 'lena'"):
        data.photo("lena")


# -- torch -----------------------------------------------------------------------------------


def test_to_dataset_normalises_with_the_training_stats():
    import torch

    x, y = data.fashion_mnist("train")
    mean, std = data.stats(x)
    assert 0.2 < mean < 0.4 and 0.25 < std < 0.45
    ds = data.to_dataset(x, y)
    images, labels = ds.tensors
    assert images.shape == (10000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and torch.equal(labels, torch.from_numpy(y))
    assert abs(images.mean().item()) < 1e-3 and abs(images.std().item() - 1) < 1e-3
    x_test, y_test = data.fashion_mnist("test")
    test_images = data.to_dataset(x_test, y_test, mean=mean, std=std).tensors[0]
    expected = (torch.from_numpy(x_test[:, None]).float() / 255 - mean) / std
    assert torch.allclose(test_images, expected)


def test_pad_to_and_bad_input():
    x, y = data.digits("test")
    padded = data.to_dataset(x[:5], y[:5], mean=0.0, std=1.0, pad_to=32).tensors[0]
    assert padded.shape == (5, 1, 32, 32)
    assert padded[:, :, :2].abs().max() == 0 and padded[:, :, 2:30, 2:30].max() > 0.5
    with pytest.raises(ValueError, match="labels: expected shape"):
        data.to_dataset(x, y[:-1])
    with pytest.raises(ValueError, match="images: expected"):
        data.to_dataset(x.reshape(-1), y)


def test_loader_is_seeded_and_batched():
    x, y = data.digits("test")
    first = [yb for _, yb in data.loader(x, y, batch_size=100, shuffle=True, seed=3)]
    again = [yb for _, yb in data.loader(x, y, batch_size=100, shuffle=True, seed=3)]
    other = [yb for _, yb in data.loader(x, y, batch_size=100, shuffle=True, seed=4)]
    assert len(first) == 5 and all(a.equal(b) for a, b in zip(first, again, strict=True))
    assert not all(a.equal(b) for a, b in zip(first, other, strict=True))
    xb, _ = next(iter(data.loader(x, y, batch_size=7)))
    assert xb.shape == (7, 1, 28, 28)
    ds = data.to_dataset(x, y)
    assert len(data.loader(ds, batch_size=125)) == 4
    with pytest.raises(ValueError, match="labels"):
        data.loader(x)


def test_train_test_loaders_share_the_training_stats():
    train, test = data.train_test_loaders("digits", batch_size=500, pad_to=32)
    xb, yb = next(iter(train))
    assert xb.shape == (500, 1, 32, 32) and len(test.dataset) == 500
    mean, std = data.stats(data.digits("train")[0])
    x_test = data.digits("test")[0]
    expected = (x_test[0].astype(np.float32) / 255 - mean) / std
    assert np.allclose(test.dataset.tensors[0][0, 0, 2:30, 2:30].numpy(), expected, atol=1e-6)
    with pytest.raises(ValueError, match="name"):
        data.train_test_loaders("cifar10")


# -- plots -----------------------------------------------------------------------------------


def test_show_samples_titles_each_image_with_its_class():
    x, y = data.fashion_mnist("test")
    fig = plots.show_samples(x, y, data.FASHION_CLASSES, per_class=2, title="Fashion-MNIST")
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 20 and set(titles) == set(data.FASHION_CLASSES)
    assert fig._suptitle.get_text() == "Fashion-MNIST"


def test_show_images_and_show_kernel():
    fig = plots.show_images(
        [data.photo("camera", size=32), data.photo("coffee", size=32)], titles=["camera", "coffee"]
    )
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["camera", "coffee"]
    with pytest.raises(ValueError, match="titles"):
        plots.show_images([np.zeros((2, 2))], titles=["a", "b"])
    fig = plots.show_images([np.array([[-1.0, 0.5], [0.0, 0.25]])], cmap="RdBu_r", symmetric=True)
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)  # 0 sits at the middle of the scale
    grey = np.array([[0.0, 2.0], [1.0, 3.0]])
    fig = plots.show_images([grey, data.photo("coffee", size=8)], colorbar=True)
    bars = [ax for ax in fig.axes if not ax.images]  # the colour bars' own axes
    assert len(bars) == 1  # one for the grey panel; a colour photo needs none
    assert fig.axes[0].images[0].get_clim() == (0.0, 3.0)
    k = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    fig = plots.show_kernel(k, "Sobel x")
    ax = fig.axes[0]
    assert ax.get_title() == "Sobel x" and ax.get_xlabel() and ax.get_ylabel()
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.2g}" for v in k.ravel())
    with pytest.raises(ValueError, match=r"kernel: expected a 2-D array"):
        plots.show_kernel(np.zeros(3))


def test_plot_histories_draws_every_run_training_and_validation():
    from coursecnn.train import History

    def run(losses, with_val):
        h = History()
        for i, loss in enumerate(losses):
            val = float("nan") if not with_val else loss + 0.1
            h.append(train_loss=loss, train_acc=0.5 + 0.1 * i, val_loss=val, val_acc=0.4,
                     epoch_time=1.0, images_per_sec=10.0)  # fmt: skip
        return h

    fig = plots.plot_histories({"a": run([1.0, 0.5], True), "b": run([2.0, 1.0, 0.7], False)})
    ax_loss, ax_acc = fig.axes
    labels = [line.get_label() for line in ax_loss.lines]
    assert labels == ["a, training", "a, validation", "b, training"]
    assert list(ax_loss.lines[2].get_ydata()) == [2.0, 1.0, 0.7]
    assert list(ax_acc.lines[1].get_ydata()) == [40.0, 40.0]  # accuracy in percent
    assert ax_loss.lines[0].get_color() == ax_loss.lines[1].get_color()
    assert ax_loss.get_xlabel() == "epoch" and "accuracy" in ax_acc.get_ylabel()
    nan = float("nan")
    no_acc = History()
    no_acc.append(train_loss=0.1, train_acc=nan, val_loss=0.2, val_acc=nan, epoch_time=1.0,
                  images_per_sec=10.0)  # fmt: skip
    (only_loss,) = plots.plot_histories({"ae": no_acc}, ylabel="MSE").axes
    assert only_loss.get_ylabel() == "MSE" and len(only_loss.lines) == 2
    with pytest.raises(ValueError, match="runs"):
        plots.plot_histories({})
    with pytest.raises(ValueError, match=r"runs\['x'\]"):
        plots.plot_histories({"x": History()})


def test_data_readme_and_manifest_are_consistent_json():
    assert json.loads(samples.MANIFEST.read_text()) == samples.manifest()
    assert re.search(r"build_data\.py", (ROOT / "data" / "README.md").read_text())
