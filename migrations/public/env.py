"""Alembic environment for the public schema (tenant registry and other shared tables)."""

from alembic import context

from tajiconnect.db.base import PUBLIC_SCHEMA, load_models, public_metadata

load_models()


def include_name(name, type_, parent_names):
    if type_ == "schema":
        return name in (None, PUBLIC_SCHEMA)
    if type_ == "table":
        # SAQ manages its own tables; Alembic's version table is not a model.
        return not (name.startswith("saq_") or name == "alembic_version")
    return True


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through 'tajiconnect db upgrade'")
    context.configure(
        connection=connection,
        target_metadata=public_metadata,
        version_table_schema=PUBLIC_SCHEMA,
        include_schemas=True,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
