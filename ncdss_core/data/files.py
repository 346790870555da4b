"""Files of a segmentation dataset: palette label PNGs, grey and RGB images, id lists, and the one
place where an image id becomes a path (`id_path`).

An image id is a plain file name: it names `<id>.jpg`, `<id>.png`, ... inside one directory and can
point nowhere else. `image_id_problem` says why a string is not one: empty, whitespace, a path
separator, a leading dot (`.`, `..`, hidden files) or dash (read as an option), a control or other
invisible character (NUL, a BOM, a zero-width space), or bytes that were not UTF-8. List files are
read strictly as UTF-8 (a leading BOM is dropped, CRLF line ends are fine), and every id they hold
passes the same check, so a hostile list is refused with its file, line and id before any stage
builds a path from it."""

from __future__ import annotations

import io
import os
import re
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


class ImageIdError(ValueError):
    """A string that is not a plain file name where an image id is expected."""


# the ids of real datasets (`2007_000032`, `COCO_train2014_000000000009`), checked at once: a
# letter, digit or underscore of any script, then those, dots, dashes and pluses
_PLAIN_ID = re.compile(r"\w[\w.+-]*")


def image_id_problem(image_id: object) -> str | None:
    """Why `image_id` is not a plain file name (the message's tail), or None when it is one."""
    if isinstance(image_id, str) and _PLAIN_ID.fullmatch(image_id):
        return None
    if not isinstance(image_id, str):
        return f"is a {type(image_id).__name__}, not text"
    if not image_id:
        return "is empty"
    for ch in image_id:
        if "\udc80" <= ch <= "\udcff":  # what undecodable bytes become under surrogateescape
            return f"is not valid UTF-8 (the byte 0x{ord(ch) - 0xDC00:02x})"
        if ch in "/\\":
            return f"contains a path separator ({ch!r}); an id is a plain file name, not a path"
        if ch.isspace():
            return "contains whitespace; ids must be single words (rename the files and the list entry)"
        if not ch.isprintable():
            return (f"contains the control or invisible character {ch!r} (U+{ord(ch):04X}); an id is "
                    f"a plain file name")
    if image_id in (".", ".."):
        return "is a directory reference; an id is a plain file name"
    if image_id.startswith("."):
        return "starts with a dot (a hidden file, or a parent reference); an id is a plain file name"
    if image_id.startswith("-"):
        return "starts with a dash (command-line tools read it as an option); an id is a plain file name"
    return None


def check_image_id(image_id: str) -> str:
    """`image_id` itself, or ImageIdError saying (with its repr) why it is not a plain file name."""
    problem = image_id_problem(image_id)
    if problem is not None:
        raise ImageIdError(f"id {image_id!r} {problem}")
    return image_id


def id_path(directory: str | os.PathLike, image_id: str, suffix: str) -> Path:
    """`directory/<id><suffix>`: the one way an image id becomes a path. The id must be a plain file
    name (`check_image_id`), so the path never leaves `directory`."""
    return Path(directory) / f"{check_image_id(image_id)}{suffix}"


class ListFileError(ValueError):
    """An id list that cannot be read as one id per line; the message names the file and line."""


_BOM = b"\xef\xbb\xbf"


def _list_text(path: str | os.PathLike) -> str:
    """A list file's text: strict UTF-8, a leading BOM dropped; ListFileError naming the line and
    byte offset of the first byte that is not UTF-8."""
    data = Path(path).read_bytes()
    start = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        line = data.count(b"\n", 0, offset) + 1
        raise ListFileError(f"{path}:{line}: not UTF-8 text (byte 0x{data[offset]:02x} at byte offset {offset}); "
                            f"save the list as UTF-8") from error


def read_id_lines(path: str | os.PathLike) -> list[tuple[int, str]]:
    """(line number, id) of an id list: one id per line, blank lines skipped, a PANet-style
    `id__class` line keeps the id. The file is UTF-8 (a BOM is dropped; LF, CRLF or CR line ends).
    Every id must be a plain file name (`image_id_problem`; an id holding whitespace is refused too:
    a list with a second column would silently drop it): the error names the file, line and id."""
    entries = []
    lines = _list_text(path).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry:
            continue
        image_id = entry if any(ch.isspace() for ch in entry) else entry.split("__")[0]
        problem = image_id_problem(image_id)
        if problem is not None:
            raise ListFileError(f"{path}:{number}: id {image_id!r} {problem}")
        entries.append((number, image_id))
    return entries


def read_ids(path: str | os.PathLike) -> list[str]:
    """The ids of an id list, in order (see read_id_lines for the format)."""
    return [image_id for _, image_id in read_id_lines(path)]


def write_ids(path: str | os.PathLike, ids: Iterable[str]) -> Path:
    return atomic_write_text(path, "".join(f"{i}\n" for i in ids))
