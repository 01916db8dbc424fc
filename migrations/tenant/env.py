"""Alembic environment for one tenant schema.

The caller opens the transaction and scopes it to the tenant's schema (``set_config('search_path', ..., true)``);
tenant tables are unqualified, so every operation lands in that schema, and so does the version table.
"""

from alembic import context

from tajiconnect.db.base import load_models, tenant_metadata
from tajiconnect.tenancy.slugs import validate_schema

load_models()


def include_name(name, type_, parent_names):
    if type_ == "table":
        return name != "alembic_version"
    return True


def run() -> None:
    connection = context.config.attributes.get("connection")
    schema = context.config.attributes.get("schema")
    if connection is None or schema is None:
        raise RuntimeError("run tenant migrations through 'tajiconnect db upgrade'")
    context.configure(
        connection=connection,
        target_metadata=tenant_metadata,
        version_table_schema=validate_schema(schema),
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
