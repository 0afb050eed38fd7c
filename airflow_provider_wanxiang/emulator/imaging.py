"""Output pictures: real PNGs that visibly come from the inputs, deterministic for a seed.

The emulator cannot edit images, but a person looking at a demo must see that the edit *used* the inputs
and which seed made it: image 1 is mirrored and colour-graded (grade and decorations depend on the seed),
further inputs of a fusion are composited as framed insets, and a caption band names model, seed and
prompt. Everything is a pure function of (inputs, size, seed, prompt, watermark) so renders can be
cached or recomputed at will.
"""

from __future__ import annotations

import io
import math
import random
import warnings

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from airflow_provider_wanxiang.emulator import catalog
from airflow_provider_wanxiang.emulator.catalog import invalid
from airflow_provider_wanxiang.emulator.validation import PIXELS_MAX, RATIO_MAX, RATIO_MIN

#: Inputs are kept at most this large: outputs never exceed 1280² pixels in total.
INPUT_MAX_SIDE = 1280
#: Default output dimensions are multiples of this (model-friendly sizes).
SIZE_STEP = 16
#: zlib level 1: a 1280² PNG encodes in ~0.2 s instead of ~1 s, at ~10 % more bytes.
PNG_COMPRESS_LEVEL = 1

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


def default_output_size(last_input: tuple[int, int]) -> tuple[int, int]:
    """≈1280² total pixels at the aspect ratio of the last input image (reference section 3.1).

    The ratio is clamped to the allowed 1:4-4:1; both sides are rounded to the nearest multiple of 16
    (model-friendly sizes), then trimmed by 16 px steps if that overshoots 1280² pixels.
    """
    width, height = last_input
    ratio = min(max(width / height, RATIO_MIN), RATIO_MAX)
    out_w = max(SIZE_STEP, round(math.sqrt(PIXELS_MAX * ratio) / SIZE_STEP) * SIZE_STEP)
    out_h = max(SIZE_STEP, round(math.sqrt(PIXELS_MAX / ratio) / SIZE_STEP) * SIZE_STEP)
    while out_w * out_h > PIXELS_MAX:
        if out_w >= out_h:
            out_w -= SIZE_STEP
        else:
            out_h -= SIZE_STEP
    return out_w, out_h


def prepare_input(data: bytes) -> bytes:
    """Decode an input fully and keep a compact RGB copy (alpha flattened on white: the service ignores it).

    Raises ``InvalidParameter`` "Failed to decode the image..." for truncated or corrupt files whose header
    looked fine.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                opened.draft("RGB", (INPUT_MAX_SIDE, INPUT_MAX_SIDE))
                image = ImageOps.exif_transpose(opened)
                image = _flatten(image)
    except Exception:
        raise invalid(catalog.DECODE_FAILED) from None
    image.thumbnail((INPUT_MAX_SIDE, INPUT_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def render_output(
    inputs: list[bytes], size: tuple[int, int], seed: int, prompt: str, watermark: bool
) -> bytes:
    """One output PNG of exactly ``size`` for ``seed`` (inputs are ``prepare_input`` results)."""
    rng = random.Random(seed)
    width, height = size
    images = [Image.open(io.BytesIO(data)).convert("RGB") for data in inputs]
    canvas = ImageOps.fit(ImageOps.mirror(images[0]), (width, height), Image.Resampling.BILINEAR)
    canvas = _grade(canvas, rng)
    _decorate(canvas, rng)
    for slot, extra in enumerate(images[1:]):
        _inset(canvas, extra, slot)
    _caption(canvas, seed, prompt, watermark)
    out = io.BytesIO()
    canvas.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


def _grade(image: Image.Image, rng: random.Random) -> Image.Image:
    """A seed-dependent colour grade: per-channel gain and gamma curves plus a saturation change."""
    channels = []
    for band in image.split():
        gain = rng.uniform(0.8, 1.2)
        gamma = rng.uniform(0.8, 1.25)
        lut = [min(255, int(255 * ((v / 255) ** gamma) * gain)) for v in range(256)]
        channels.append(band.point(lut))
    graded = Image.merge("RGB", channels)
    return ImageEnhance.Color(graded).enhance(rng.uniform(0.6, 1.5))


def _decorate(image: Image.Image, rng: random.Random) -> None:
    """Translucent seed-placed discs ("bokeh"): makes outputs of different seeds tell apart at a glance."""
    width, height = image.size
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(12):
        radius = rng.randint(min(width, height) // 40 + 4, min(width, height) // 10 + 8)
        x, y = rng.randint(0, width), rng.randint(0, height)
        colour = (rng.randint(120, 255), rng.randint(120, 255), rng.randint(120, 255), rng.randint(50, 110))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    image.paste(overlay, (0, 0), overlay)


def _inset(canvas: Image.Image, extra: Image.Image, slot: int) -> None:
    """Image 2, 3, ... of a fusion as framed insets along the top edge (right to left)."""
    width, height = canvas.size
    box = max(32, min(width, height) * 3 // 10)
    thumb = extra.copy()
    thumb.thumbnail((box, box))
    border = max(2, box // 40)
    framed = ImageOps.expand(thumb, border=border, fill=(255, 255, 255))
    margin = max(8, box // 12)
    x = max(0, width - margin - (slot + 1) * (box + 2 * border) - slot * margin)
    canvas.paste(framed, (x, margin))
    font = _font(max(10, box // 10))
    stroke = 2 if isinstance(font, ImageFont.FreeTypeFont) else 0  # bitmap fonts cannot stroke
    position = (x + 2 * border, margin + 2 * border)
    label = f"image {slot + 2}"
    ImageDraw.Draw(canvas).text(
        position, label, fill=(255, 255, 255), font=font, stroke_width=stroke, stroke_fill=0
    )


def _font(size: int) -> FontType:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _printable(text: str, font: FontType) -> str:
    """The bitmap fallback font only encodes Latin-1; FreeType renders anything (boxes for missing glyphs)."""
    if isinstance(font, ImageFont.FreeTypeFont):
        return text
    return text.encode("latin-1", "replace").decode("latin-1")


def _caption(canvas: Image.Image, seed: int, prompt: str, watermark: bool) -> None:
    """A dark band at the bottom naming model, seed and prompt; the watermark text if requested."""
    width, height = canvas.size
    band = max(40, height // 9)
    overlay = Image.new("RGBA", (width, band), (0, 0, 0, 160))
    canvas.paste(overlay, (0, height - band), overlay)
    draw = ImageDraw.Draw(canvas)
    size = max(10, band // 4)
    font = _font(size)
    pad = max(6, size // 2)
    excerpt = prompt if len(prompt) <= 90 else prompt[:87] + "..."
    title = f"wan2.5-i2i-preview (emulated)  seed {seed}"
    draw.text((pad, height - band + pad), _printable(title, font), fill=(255, 255, 255), font=font)
    draw.text(
        (pad, height - band + pad + size + 4), _printable(excerpt, font), fill=(220, 220, 220), font=font
    )
    if watermark:
        mark = "AI-generated"
        text_w = draw.textlength(mark, font=font)
        draw.text((width - pad - text_w, height - band + pad), mark, fill=(255, 255, 255), font=font)
