"""Files of a segmentation dataset: palette label PNGs, grey and RGB images, id lists."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from ncdss_core.io.atomic import atomic_write_bytes, atomic_write_text


def _voc_palette() -> list[int]:
    """The standard PASCAL VOC colour map (bit-interleaved), 256 RGB entries."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):
            r |= ((c >> 0) & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette.extend((r, g, b))
    return palette


VOC_PALETTE = _voc_palette()


def write_label_png(path: str | os.PathLike, labels: np.ndarray) -> Path:
    """Write an index label map (uint8, 255 = ignore) as a VOC-palette PNG, atomically."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"{path}: label map must be 2-D, got shape {labels.shape}")
    if labels.min(initial=0) < 0 or labels.max(initial=0) > 255:
        raise ValueError(f"{path}: label values must lie in 0..255")
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(VOC_PALETTE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    # label maps are written by the thousand inside artifact directories: no fsync per file
    return atomic_write_bytes(path, buffer.getvalue(), fsync=False)


def read_label_png(path: str | os.PathLike) -> np.ndarray:
    """Read an index PNG (palette or 8-bit grey) as a uint8 array of label indices."""
    with Image.open(path) as image:
        if image.mode not in ("P", "L", "1"):
            kind = {"RGB": "an RGB colour image", "RGBA": "an RGBA colour image",
                    "I;16": "a 16-bit image", "I;16B": "a 16-bit image", "I": "a 32-bit image",
                    "LA": "a grey image with alpha"}.get(image.mode, f"mode {image.mode}")
            raise ValueError(f"{path}: label map is {kind}; expected an 8-bit index PNG (palette or "
                             f"grey, one class index per pixel, as VOC's SegmentationClassAug)")
        return np.array(image, dtype=np.uint8)


def read_grey_png(path: str | os.PathLike) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image.convert("L"), dtype=np.uint8)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image as an RGB uint8 array (H, W, 3)."""
    with Image.open(path) as image:
        return np.array(image.convert("RGB"), dtype=np.uint8)


class ListFileError(ValueError):
    """An id list that cannot be read as one id per line; the message names the file and line."""


def read_id_lines(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(line number, id) of an id list: one id per line, blank lines skipped, a PANet-style
    `id__class` line keeps the id. An id holding whitespace is rejected (ids name files, and a
    list with a second column would silently drop it): the error names the file, line and id."""
    entries = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            if any(ch.isspace() for ch in text):
                raise ListFileError(f"{path}:{number}: id {text!r} contains whitespace; ids must be "
                                    f"single words (rename the files and the list entry)")
            entries.append((number, text.split("__")[0]))
    return entries


def read_ids(path: str | os.PathLike) -> list[str]:
    """The ids of an id list, in order (see read_id_lines for the format)."""
    return [image_id for _, image_id in read_id_lines(path)]


def write_ids(path: str | os.PathLike, ids: Iterable[str]) -> Path:
    return atomic_write_text(path, "".join(f"{i}\n" for i in ids))
