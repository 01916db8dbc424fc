"""Model bases.

Every table is deliberately either *public* (shared, in the ``public`` schema, always schema-qualified) or
*tenant-owned* (unqualified, found through the per-transaction ``search_path`` of the tenant in scope).
The two kinds live in separate ``MetaData`` objects so that migrations, provisioning and the tests can treat
them apart, and so that a tenant table can never be created in ``public`` by accident.
"""

from __future__ import annotations

from advanced_alchemy.base import CommonTableAttributes, UUIDv7PrimaryKey, create_registry
from advanced_alchemy.mixins import AuditColumns
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PUBLIC_SCHEMA = "public"

public_metadata = MetaData(schema=PUBLIC_SCHEMA, naming_convention=NAMING_CONVENTION)
tenant_metadata = MetaData(naming_convention=NAMING_CONVENTION)

_TYPE_MAP = create_registry().type_annotation_map
public_registry = registry(metadata=public_metadata, type_annotation_map=_TYPE_MAP)
tenant_registry = registry(metadata=tenant_metadata, type_annotation_map=_TYPE_MAP)


class PublicBase(CommonTableAttributes, DeclarativeBase):
    """Base for shared tables in the public schema (tenant registry, platform operators, ...)."""

    registry = public_registry
    metadata = public_metadata
    __abstract__ = True


class TenantBase(CommonTableAttributes, DeclarativeBase):
    """Base for tables that every tenant owns a copy of, inside its own schema."""

    registry = tenant_registry
    metadata = tenant_metadata
    __abstract__ = True


class PublicModel(UUIDv7PrimaryKey, AuditColumns, PublicBase):
    """Public table with a time-ordered UUID key and ``created_at``/``updated_at``."""

    __abstract__ = True


class TenantModel(UUIDv7PrimaryKey, AuditColumns, TenantBase):
    """Tenant table with a time-ordered UUID key and ``created_at``/``updated_at``."""

    __abstract__ = True


def load_models() -> None:
    """Import every module that declares models, so both metadata objects are complete."""
    from tajiconnect import models  # noqa: F401
