"""What an upload is (from its bytes, never its name) and what is served of an image: a
re-encoding without EXIF, GPS or comments, upright, with a thumbnail; decompression bombs and
fake images are not decoded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from parley.files import sniff as s
from parley.files.images import AVATAR_BOX, THUMB_BOX, NotAnImage, process_image
from tests.files import images


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (images.png(), s.PNG),
        (images.jpeg_with_gps(), s.JPEG),
        (images.gif_animation(), s.GIF),
        (images.webp(), s.WEBP),
        (b"%PDF-1.7\n...", s.PDF),
        (images.HTML, s.TEXT),
        ("héllo wörld\n".encode(), s.TEXT),
        ("é".encode()[:1], s.BINARY),  # a lone lead byte is not text ...
        (b"abc" + "é".encode()[:1], s.TEXT),  # ... but a character cut by the head's end is
        (b"\x00\x01\x02binary", s.BINARY),
        (b"", s.BINARY),
        (b"RIFF\x00\x00\x00\x00WAVE", s.BINARY),
    ],
)
def test_the_type_comes_from_the_bytes(data: bytes, kind: str) -> None:
    assert s.sniff(data[: s.HEAD_BYTES]) == kind


def run(tmp_path: Path, data: bytes, kind: str, **kwargs: object) -> tuple[Image.Image, bytes]:
    source, out = tmp_path / "in", tmp_path / "out"
    source.write_bytes(data)
    done = process_image(source, out, kind, max_pixels=50_000_000, **kwargs)  # type: ignore[arg-type]
    served = out.read_bytes()
    image = Image.open(io.BytesIO(served))
    thumb = Image.open(io.BytesIO(done.thumbnail))
    assert (thumb.width, thumb.height) == (done.thumb_width, done.thumb_height)
    assert thumb.format == "WEBP"
    assert (image.width, image.height) == (done.width, done.height)
    return image, served


def test_a_jpeg_loses_its_exif_and_gps_and_is_turned_upright(tmp_path: Path) -> None:
    original = images.jpeg_with_gps(640, 480, orientation=6)
    assert images.CAMERA.encode() in original
    image, served = run(tmp_path, original, s.JPEG)
    assert images.CAMERA.encode() not in served
    assert b"Exif" not in served
    assert not image.getexif()
    assert image.format == "JPEG"
    assert (image.width, image.height) == (480, 640)  # rotated as the orientation said


def test_a_png_loses_its_text_and_keeps_its_transparency(tmp_path: Path) -> None:
    original = images.png(text="my home address")
    image, served = run(tmp_path, original, s.PNG)
    assert b"my home address" not in served
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0)) == (0, 128, 255, 128)


def test_an_animation_keeps_its_frames(tmp_path: Path) -> None:
    original = images.gif_animation(frames=3)
    assert b"taken at my house" in original
    image, served = run(tmp_path, original, s.GIF)
    assert getattr(image, "n_frames", 1) == 3
    assert b"taken at my house" not in served


def test_thumbnails_fit_the_box_and_avatars_are_square(tmp_path: Path) -> None:
    big = io.BytesIO()
    Image.new("RGB", (1000, 500), (5, 5, 5)).save(big, "PNG")
    source, out = tmp_path / "in", tmp_path / "out"
    source.write_bytes(big.getvalue())
    done = process_image(source, out, s.PNG, max_pixels=10**8)
    assert (done.thumb_width, done.thumb_height) == (THUMB_BOX, THUMB_BOX // 2)
    avatar = process_image(source, out, s.PNG, max_pixels=10**8, avatar=True)
    assert (avatar.thumb_width, avatar.thumb_height) == (AVATAR_BOX, AVATAR_BOX)
    small = process_image(source, out, s.PNG, max_pixels=10**8)
    assert small.width == 1000


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (images.HTML_AS_PNG, s.PNG),  # a PNG signature, then HTML
        (images.png()[:40], s.PNG),  # cut short
        (b"\xff\xd8\xff" + b"\0" * 100, s.JPEG),
        (images.png_bomb(), s.PNG),  # ten billion pixels claimed
    ],
)
def test_what_only_looks_like_an_image_is_not_one(tmp_path: Path, data: bytes, kind: str) -> None:
    source = tmp_path / "in"
    source.write_bytes(data)
    with pytest.raises(NotAnImage):
        process_image(source, tmp_path / "out", kind, max_pixels=50_000_000)


def test_the_pixel_limit_counts_every_frame(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.write_bytes(images.gif_animation(frames=3))  # 40 x 40 x 3 = 4800 pixels
    process_image(source, tmp_path / "out", s.GIF, max_pixels=4800)
    with pytest.raises(NotAnImage, match="over the limit"):
        process_image(source, tmp_path / "out", s.GIF, max_pixels=4799)
