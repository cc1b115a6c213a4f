"""Images for the file tests, made with Pillow: with EXIF and GPS, animated, and files that
only pretend to be images."""

from __future__ import annotations

import io

from PIL import Image

#: An EXIF block with a camera and a GPS position (latitude tag 2 in the GPS IFD).
CAMERA = "SpyCam 3000"


def jpeg_with_gps(width: int = 640, height: int = 480, orientation: int = 6) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0110] = CAMERA  # Model
    exif[0x0112] = orientation  # 6: rotate 90° clockwise to show
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 30.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 64, height: int = 32, text: str = "secret comment") -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 255, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def gif_animation(frames: int = 3) -> bytes:
    images = [Image.new("RGB", (40, 40), (i * 80 % 256, 0, 0)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=images[1:],
        duration=100,
        loop=0,
        comment=b"taken at my house",
    )
    return out.getvalue()


def webp(width: int = 50, height: int = 100) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (1, 2, 3)).save(out, "WEBP")
    return out.getvalue()


#: A PNG signature followed by HTML: a browser that sniffed it would run the script.
HTML_AS_PNG = b"\x89PNG\r\n\x1a\n<html><script>alert(document.cookie)</script></html>"
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def png_bomb(side: int = 100_000) -> bytes:
    """A valid PNG header claiming ``side`` x ``side`` pixels (10 billion): decoding it would
    need gigabytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )
