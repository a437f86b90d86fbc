"""Shifted images: rotations and rolls that must return the image, corruptions that keep the
images' shape and range and are reproducible, letters that are deterministic."""

import numpy as np
import pytest
from scipy import ndimage

from mnistlab.data.corruptions import CORRUPTIONS, corrupt
from mnistlab.data.letters import FONT_FILES, letters
from mnistlab.data.shifts import ROTATION_DEGREES, TRANSLATION_PIXELS, rotate, translate


@pytest.fixture(scope="module")
def images():
    """Digit-like test images: a random blurred stroke pattern in [0, 1], 28 x 28."""
    rng = np.random.default_rng(0)
    raw = ndimage.gaussian_filter(rng.random((6, 28, 28)), sigma=(0, 1.5, 1.5))
    return np.clip((raw - raw.mean()) * 8 + 0.3, 0, 1).astype(np.float32)


def test_ovadia_levels():
    assert tuple(range(0, 181, 15)) == ROTATION_DEGREES and len(ROTATION_DEGREES) == 13
    assert TRANSLATION_PIXELS[1:] == tuple(range(2, 27, 2))


def test_rotation_by_zero_and_a_full_turn_in_four_steps_return_the_image(images):
    np.testing.assert_array_equal(rotate(images, 0), images)
    turned = images
    for _ in range(4):
        turned = rotate(turned, 90)
    np.testing.assert_allclose(turned, images, atol=1e-6)


def test_rotation_matches_numpy_and_scipy(images):
    np.testing.assert_allclose(rotate(images, 90), np.rot90(images, axes=(1, 2)), atol=1e-6)
    np.testing.assert_allclose(rotate(images, 180), images[:, ::-1, ::-1], atol=1e-6)
    # scipy's bilinear rotation (zeros outside the image) is the oracle for other angles.
    for angle in (15, 37.5, -60):
        expected = ndimage.rotate(
            images, angle, axes=(2, 1), reshape=False, order=1, mode="grid-constant"
        )
        np.testing.assert_allclose(rotate(images, angle), expected, atol=1e-5)


def test_rotation_takes_one_angle_per_image(images):
    angles = np.array([0, 90, 180, 0, 90, 180])
    each = np.stack([rotate(images[i : i + 1], a)[0] for i, a in enumerate(angles)])
    np.testing.assert_allclose(rotate(images, angles), each, atol=1e-6)


def test_translation_rolls_along_the_width(images):
    np.testing.assert_array_equal(translate(images, 28), images)
    np.testing.assert_array_equal(translate(images, 0), images)
    np.testing.assert_array_equal(translate(images, 2)[:, :, 2:], images[:, :, :-2])
    np.testing.assert_array_equal(translate(images, 2)[:, :, :2], images[:, :, -2:])


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_keeps_shape_and_range_and_is_reproducible(images, name):
    out = corrupt(images, name, seed=3)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, corrupt(images, name, seed=3))
    assert not np.array_equal(out, images), "a corruption must change the images"


def test_random_corruptions_depend_on_the_seed(images):
    for name in ("shot_noise", "impulse_noise", "glass_blur", "fog", "spatter", "zigzag"):
        assert not np.array_equal(corrupt(images, name, 0), corrupt(images, name, 1)), name


def test_corruption_parameters_as_published(images):
    np.testing.assert_allclose(corrupt(images, "brightness", 0), np.clip(images + 0.5, 0, 1))
    striped = corrupt(images, "stripe", 0)
    np.testing.assert_allclose(striped[:, :, :7], 1 - images[:, :, :7])
    np.testing.assert_array_equal(striped[:, :, 7:21], images[:, :, 7:21])
    hit = corrupt(images, "impulse_noise", 0) != images
    assert 0.13 < hit.mean() < 0.21  # 17% of the pixels set to 0 or 1 (some already were)
    # scale shrinks about the centre: the centre pixel stays, the mass shrinks to ~0.7^2
    scaled = corrupt(images, "scale", 0)
    assert scaled.sum() / images.sum() == pytest.approx(0.49, abs=0.08)


def test_bad_corruption_arguments_name_the_problem(images):
    with pytest.raises(ValueError, match="unknown corruption 'snow'"):
        corrupt(images, "snow", 0)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        corrupt(images[0], "fog", 0)


def test_letters_are_deterministic_for_a_seed():
    first, labels = letters(30, seed=5)
    again, _ = letters(30, seed=5)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, letters(30, seed=6)[0])
    assert first.shape == (30, 28, 28) and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 1
    assert labels.tolist() == [i % 10 for i in range(30)]


def test_letters_are_framed_like_mnist():
    images, _ = letters(50, seed=0)
    for image in images:
        rows, cols = np.nonzero(image > 0.05)
        assert np.ptp(rows) <= 24 and np.ptp(cols) <= 24  # a 16-20 px box, rotated and thickened
        centre = ndimage.center_of_mass(image)
        assert np.all(np.abs(np.array(centre) - 13.5) <= 3.5)  # mass centred, shift <= 2 px
    assert len(FONT_FILES) == 22
