"""Profile pictures: decoded with Pillow, never trusted as uploaded.

An upload is accepted only if Pillow decodes it completely as a PNG, JPEG or WebP image whose declared size is
reasonable (checked before any pixel is decoded, so a small file claiming 65535 x 65535 pixels costs nothing);
what is stored is a fresh WebP re-encoded from the decoded pixels, oriented, at most :data:`SIDE` pixels a side,
without metadata. Whatever else the uploaded file carried (HTML after a PNG header, EXIF, scripts) is gone.

The picture is kept by the storage service (purpose ``avatar``, ``users.avatar_file_id``) and shown through
``/avatars/<user id>``, which sends the browser on to the file's short-lived URL.
"""

from __future__ import annotations

import asyncio
import io
import uuid
import warnings
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tajiconnect.domains.accounts.models import User, UserAvatar
from tajiconnect.domains.storage.models import StoredFile
from tajiconnect.i18n import _

if TYPE_CHECKING:
    from tajiconnect.domains.storage.service import Storage

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


# --- where pictures live: the storage service (purpose ``avatar``) ------------------------------------------------
#
# New pictures go to storage (``users.avatar_file_id``). Pictures saved before that are ``user_avatars`` rows until
# ``tajiconnect storage move-avatars`` moves them; ``/avatars/<id>`` serves from either place meanwhile.


async def store_avatar(session: AsyncSession, storage: Storage, user: User, picture: bytes) -> None:
    """Make ``picture`` (already re-encoded by :func:`process_avatar`) the user's avatar, replacing any other."""
    file = await storage.save(session, picture, filename="avatar.webp", purpose="avatar", user=user)
    await remove_avatar(session, storage, user)
    user.avatar_file_id, user.has_avatar = file.id, True


async def avatar_from_upload(session: AsyncSession, storage: Storage, user: User, file_id: str) -> None:
    """Use a picture the user uploaded through ``/uploads`` (purpose ``avatar``, ready, theirs): re-encoded like any
    other, then the raw upload is deleted. :class:`AvatarError` when it is not one of theirs or not a picture."""
    try:
        key = uuid.UUID(file_id)
    except ValueError as exc:
        raise AvatarError(_("This picture could not be read. Use a PNG, JPEG or WebP picture.")) from exc
    upload = await session.scalar(select(StoredFile).where(
        StoredFile.id == key, StoredFile.uploaded_by_id == user.id, StoredFile.purpose == "avatar",
        StoredFile.status == "ready"))
    if upload is None:
        raise AvatarError(_("This picture could not be read. Use a PNG, JPEG or WebP picture."))
    if upload.id == user.avatar_file_id:
        return  # the current picture, sent back unchanged
    picture = await process_avatar_async(await storage.read(upload))
    await store_avatar(session, storage, user, picture)
    await storage.delete(session, upload)


async def remove_avatar(session: AsyncSession, storage: Storage, user: User) -> None:
    if user.avatar_file_id is not None:
        current = await session.get(StoredFile, user.avatar_file_id)
        if current is not None:
            await storage.delete(session, current)
    await session.execute(delete(UserAvatar).where(UserAvatar.user_id == user.id))
    user.avatar_file_id, user.has_avatar = None, False


async def move_avatars(session: AsyncSession, storage: Storage, *, batch: int = 200) -> int:
    """Move up to ``batch`` pictures of the tenant in scope from ``user_avatars`` to storage; how many moved.

    Each moved row is deleted in the same transaction that points the user at the stored file, so running this
    again (after a crash, or to do the next batch) never moves a picture twice.
    """
    rows = (await session.execute(
        select(UserAvatar, User).join(User, User.id == UserAvatar.user_id).limit(batch)
        .with_for_update(of=UserAvatar, skip_locked=True))).all()
    for row, user in rows:
        if user.avatar_file_id is None:  # a newer picture already in storage wins
            file = await storage.save(session, row.data, filename="avatar.webp", purpose="avatar", user=user)
            user.avatar_file_id, user.has_avatar = file.id, True
        await session.delete(row)
    await session.flush()
    return len(rows)
