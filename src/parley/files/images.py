"""Uploaded images made safe to serve, and their thumbnails (Pillow; blocking: run in a
thread, see ``server/uploads.py``, which bounds how many run at once).

An image is decoded and **re-encoded**: what is served is never the uploaded bytes, so no
metadata the uploader did not mean to share (EXIF with its GPS position, XMP, comments) goes
out, and a file that only claims to be an image (a polyglot, HTML after a PNG header) is
either a real image afterwards or refused here. A JPEG is turned upright by its EXIF
orientation first (the orientation goes with the EXIF). Animations keep their frames.

Decompression bombs: the size in pixels (width x height x frames) is read from the header and
checked against the limit before anything is decoded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PIL import Image, ImageOps

from parley.files.sniff import GIF, JPEG, PNG, WEBP

#: A thumbnail fits in this square (a smaller image keeps its size).
THUMB_BOX: Final = 320
#: An avatar's thumbnail: the centre square of the image, at most this wide.
AVATAR_BOX: Final = 256

_FORMATS: Final = {PNG: "PNG", JPEG: "JPEG", GIF: "GIF", WEBP: "WEBP"}
#: Metadata Pillow would otherwise carry over from what it read.
_DROPPED_INFO: Final = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "dpi")


class NotAnImage(Exception):
    """The file is not an image of its sniffed type that can be decoded within the limits."""


@dataclass(frozen=True, slots=True)
class Processed:
    """An image re-encoded into the destination file, with its thumbnail (WebP bytes)."""

    width: int
    height: int
    thumbnail: bytes
    thumb_width: int
    thumb_height: int


def process_image(
    source: Path, destination: Path, kind: str, *, max_pixels: int, avatar: bool = False
) -> Processed:
    """Decode ``source`` (an image of type ``kind``), write it re-encoded without metadata to
    ``destination``, and make its thumbnail (square for an ``avatar``). Raises
    :class:`NotAnImage`."""
    try:
        with Image.open(source, formats=[_FORMATS[kind]]) as image:
            frames = getattr(image, "n_frames", 1)
            width, height = image.size
            if width < 1 or height < 1 or width * height * frames > max_pixels:
                raise NotAnImage(f"{width}x{height}x{frames} pixels is over the limit")
            if kind == JPEG:
                _write_jpeg(image, destination)
            else:
                _write_frames(image, destination, kind, frames)
            image.seek(0)
            first = image.convert("RGBA")
    except NotAnImage:
        raise
    except Exception as exc:  # Pillow raises many kinds for broken input
        raise NotAnImage(f"the image cannot be decoded: {exc}") from None
    if kind == JPEG:  # the thumbnail follows the re-encoded (upright) picture
        with Image.open(destination) as upright:
            first = upright.convert("RGBA")
            width, height = upright.size
    thumb = _avatar(first) if avatar else _thumbnail(first)
    out = io.BytesIO()
    thumb.save(out, "WEBP", quality=80)
    return Processed(width, height, out.getvalue(), thumb.width, thumb.height)


def _clean(image: Image.Image) -> None:
    for key in _DROPPED_INFO:
        image.info.pop(key, None)


def _write_jpeg(image: Image.Image, destination: Path) -> None:
    icc = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    _clean(upright)
    extra: dict[str, Any] = {"icc_profile": icc} if icc else {}
    upright.save(destination, "JPEG", quality=90, exif=b"", **extra)


def _write_frames(image: Image.Image, destination: Path, kind: str, frames: int) -> None:
    icc = image.info.get("icc_profile")
    _clean(image)
    extra: dict[str, Any] = {"icc_profile": icc} if icc and kind != GIF else {}
    if kind == WEBP:
        extra.update(quality=90, exif=b"", xmp=b"")
    if kind == GIF:
        extra["comment"] = b""
    if frames > 1:  # every frame of ``image`` is written
        image.save(destination, _FORMATS[kind], save_all=True, **extra)
    else:
        image.save(destination, _FORMATS[kind], **extra)


def _thumbnail(image: Image.Image) -> Image.Image:
    thumb = image.copy()
    thumb.thumbnail((THUMB_BOX, THUMB_BOX))
    return thumb


def _avatar(image: Image.Image) -> Image.Image:
    side = min(image.width, image.height, AVATAR_BOX)
    return ImageOps.fit(image, (side, side))
