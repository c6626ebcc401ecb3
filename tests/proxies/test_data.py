"""--data: real labelled images (scikit-learn's digits) from an .npz or an image folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwnas.errors import UsageError
from hwnas.proxies import load_labelled_images


def test_npz_digits_load_as_three_channel_batches(digits_npz) -> None:
    data = load_labelled_images(digits_npz)
    assert data.images.shape == (200, 3, 8, 8) and data.num_classes == 10
    images, labels = data.batch(20, resolution=32, num_classes=10, seed=0)
    assert images.shape == (20, 3, 32, 32) and labels.dtype == torch.int64
    assert sorted(labels.tolist()) == sorted(list(range(10)) * 2)  # class-balanced: 2 per class
    assert torch.allclose(images.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    again, _ = data.batch(20, resolution=32, num_classes=10, seed=0)
    other, _ = data.batch(20, resolution=32, num_classes=10, seed=1)
    assert torch.equal(images, again) and not torch.equal(images, other)


def test_image_folder_gives_the_same_images(digits_npz, tmp_path) -> None:
    from PIL import Image

    with np.load(digits_npz) as npz:
        images, labels = npz["images"][:30], npz["labels"][:30]
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        folder = tmp_path / f"class_{label}"
        folder.mkdir(exist_ok=True)
        Image.fromarray((img * 255 / 16).astype(np.uint8), mode="L").save(folder / f"{i}.png")
    (tmp_path / "README.txt").write_text("not a class folder")
    data = load_labelled_images(tmp_path)
    assert data.images.shape == (30, 3, 8, 8)
    assert sorted(set(data.labels.tolist())) == list(range(len({int(x) for x in labels})))


def test_too_many_classes_for_the_network(digits_npz) -> None:
    with pytest.raises(UsageError, match="--num-classes"):
        load_labelled_images(digits_npz).batch(10, resolution=8, num_classes=5, seed=0)


@pytest.mark.parametrize("content", ["missing", "no_labels", "text", "bad_labels"])
def test_bad_data_is_a_usage_error(tmp_path, content) -> None:
    path = tmp_path / "data.npz"
    if content == "no_labels":
        np.savez(path, images=np.zeros((4, 8, 8)))
    elif content == "text":
        path = tmp_path / "data.txt"
        path.write_text("hello")
    elif content == "bad_labels":
        np.savez(path, images=np.zeros((4, 8, 8)), labels=np.array([0.5, 1, 2, 3]))
    with pytest.raises(UsageError):
        load_labelled_images(path)
