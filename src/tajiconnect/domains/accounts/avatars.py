"""Profile pictures: decoded with Pillow, never trusted as uploaded.

An upload is accepted only if Pillow decodes it completely as a PNG, JPEG or WebP image whose declared size is
reasonable (checked before any pixel is decoded, so a small file claiming 65535 x 65535 pixels costs nothing);
what is stored is a fresh WebP re-encoded from the decoded pixels, oriented, at most :data:`SIDE` pixels a side,
without metadata. Whatever else the uploaded file carried (HTML after a PNG header, EXIF, scripts) is gone.
"""

from __future__ import annotations

import asyncio
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from tajiconnect.i18n import _

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is ~8000 x 6000
SIDE = 512
FORMATS = ("PNG", "JPEG", "WEBP")
CONTENT_TYPE = "image/webp"


class AvatarError(ValueError):
    """The upload is not a picture we accept; the message is for the member."""


def process_avatar(data: bytes) -> bytes:
    """The stored picture (WebP bytes) made from an upload, or :class:`AvatarError`."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise AvatarError(_("The picture must be at most 5 MB."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > MAX_PIXELS:
                    raise AvatarError(_("The picture is too large: use one of at most 40 megapixels."))
                image.load()  # decodes every pixel: a truncated or forged file fails here
                picture = ImageOps.exif_transpose(image)
                picture.thumbnail((SIDE, SIDE))
                if picture.mode not in ("RGB", "RGBA"):
                    alpha = "A" in picture.getbands() or "transparency" in picture.info
                    picture = picture.convert("RGBA" if alpha else "RGB")
                out = io.BytesIO()
                picture.save(out, format="WEBP", quality=85, method=4)
                return out.getvalue()
    except AvatarError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AvatarError(_("Use a PNG, JPEG or WebP picture.")) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise AvatarError(_("This picture could not be read. Use a PNG, JPEG or WebP picture.")) from exc


async def process_avatar_async(data: bytes) -> bytes:
    return await asyncio.to_thread(process_avatar, data)
