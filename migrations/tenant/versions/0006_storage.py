"""avatars in storage: users.avatar_file_id

The bytes of existing pictures stay in ``user_avatars`` until ``tajiconnect storage move-avatars`` moves them
(``/avatars/<id>`` serves from either place meanwhile); see docs/storage.md.

Revision ID: 0006_storage
Revises: 0005
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0006_storage"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("avatar_file_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True))
    op.create_foreign_key(
        op.f("fk_users_avatar_file_id_stored_files"), "users", "stored_files", ["avatar_file_id"], ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_users_avatar_file_id_stored_files"), "users", type_="foreignkey")
    op.drop_column("users", "avatar_file_id")
