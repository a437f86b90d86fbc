"""Letters A-J drawn with the fonts that ship with matplotlib: a notMNIST stand-in, no download.

notMNIST (Bulatov 2011: letters A-J in many fonts) is the usual near out-of-distribution set
for MNIST, but it has to be downloaded. These letters are made like MNIST digits were: the glyph
is fitted, aspect kept, into a box (20 x 20 in MNIST; here 16-20 pixels, jittered) and placed so
that its centre of mass is at the centre of a 28 x 28 frame; white strokes on black, in [0, 1].
Jitter per image, all from the seed: font (22 faces), size, shift (up to 2 pixels each way),
rotation (up to 10 degrees each way) and stroke (as drawn, or thickened by one pixel).
Fewer fonts and simpler shapes than notMNIST: it is a stand-in, and is called so.

    >>> from mnistlab.data.letters import letters
    >>> images, labels = letters(20, seed=0)
    >>> images.shape, labels[:12].tolist()
    ((20, 28, 28), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from mnistlab.data.shifts import rotate
from mnistlab.seeds import stream


def _ndimage():
    """scipy.ndimage, imported when first used: it costs about 0.3 s at start-up otherwise."""
    from scipy import ndimage

    return ndimage


LETTERS = "ABCDEFGHIJ"
FONT_FILES = (
    # DejaVu Sans, Sans Mono and Serif, each regular, bold, oblique/italic, bold oblique/italic
    *(
        f"DejaVu{family}{style}.ttf"
        for family, styles in (
            ("Sans", ("", "-Bold", "-Oblique", "-BoldOblique")),
            ("SansMono", ("", "-Bold", "-Oblique", "-BoldOblique")),
            ("Serif", ("", "-Bold", "-Italic", "-BoldItalic")),
        )
        for style in styles
    ),
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    # Computer Modern: roman, bold, sans, italic, typewriter, math italic
    "cmr10.ttf",
    "cmb10.ttf",
    "cmss10.ttf",
    "cmti10.ttf",
    "cmtt10.ttf",
    "cmmi10.ttf",
)
SIDE, RENDER_SIZE = 28, 48  # glyphs are measured at 48 px, then drawn at their final size


@functools.cache
def _font(name: str):
    import matplotlib
    from matplotlib.ft2font import FT2Font

    return FT2Font(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name))


def _glyph(letter: str, font: str, pixels: float) -> np.ndarray:
    """The letter drawn by FreeType (anti-aliased) about `pixels` tall, cropped: float (h, w)."""
    face = _font(font)
    face.set_size(pixels, 72)  # points at 72 dpi = pixels
    face.set_text(letter, 0.0)
    face.draw_glyphs_to_bitmap(antialiased=True)
    bitmap = np.asarray(face.get_image(), np.float64) / 255
    rows, cols = np.flatnonzero(bitmap.any(axis=1)), np.flatnonzero(bitmap.any(axis=0))
    return bitmap[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _framed(glyph: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """MNIST's framing: centre of mass at the frame's centre (plus `shift`, whole pixels)."""
    frame = np.zeros((SIDE, SIDE))
    centre = np.array(_ndimage().center_of_mass(glyph))
    top_left = np.round((SIDE - 1) / 2 - centre + shift).astype(int)
    top_left = np.clip(top_left, 0, SIDE - np.array(glyph.shape))
    frame[
        top_left[0] : top_left[0] + glyph.shape[0], top_left[1] : top_left[1] + glyph.shape[1]
    ] = glyph
    return frame


def letter_image(letter: str, font: str, *, box: float, shift, thicken: bool) -> np.ndarray:
    """One letter fitted into a box of `box` pixels (aspect kept), framed 28 x 28: float64."""
    measured = _glyph(letter, font, RENDER_SIZE)
    pixels = (
        RENDER_SIZE * box / max(measured.shape)
    )  # draw at the final size: FreeType's anti-aliasing
    glyph = _glyph(letter, font, pixels)
    glyph = glyph[
        : SIDE - 2, : SIDE - 2
    ]  # rounding may add a pixel; the box stays inside the frame
    if thicken:
        glyph = _ndimage().grey_dilation(np.pad(glyph, 1), size=(2, 2))
    return _framed(glyph, np.asarray(shift, float))


def letters(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n letter images, A-J in turn, jittered from `seed`: float32 (n, 28, 28) in [0, 1],
    and labels (n,) int 0-9 for A-J. The same seed gives the same images."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = stream(seed, "letters/jitter")
    labels = np.arange(n) % len(LETTERS)
    fonts = rng.integers(0, len(FONT_FILES), n)
    boxes = rng.uniform(16, 20, n)
    shifts = rng.integers(-2, 3, (n, 2))
    thicken = rng.random(n) < 0.5
    angles = rng.uniform(-10, 10, n)
    images = np.stack(
        [
            letter_image(LETTERS[k], FONT_FILES[f], box=b, shift=s, thicken=t)
            for k, f, b, s, t in zip(labels, fonts, boxes, shifts, thicken, strict=True)
        ]
    )
    return np.clip(rotate(images, angles), 0, 1), labels.astype(np.int32)
