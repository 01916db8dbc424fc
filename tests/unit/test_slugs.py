"""Tenant slugs and schema names: validated before anything reaches SQL."""

from __future__ import annotations

import pytest

from tajiconnect.tenancy.slugs import InvalidSlugError, schema_for, validate_schema, validate_slug

VALID = ["ab", "acme", "nairobi-academy", "school42", "a1-b2-c3", "x" * 31]
INVALID = [
    "",
    "a",  # too short
    "x" * 32,  # too long
    "Acme",  # uppercase
    "ACME",
    "acme_school",  # underscore
    "1school",  # leading digit
    "-acme",  # leading hyphen
    "acme-",  # trailing hyphen
    "ac--me",  # doubled hyphen
    "acme school",
    "acmé",
    "acme.co",
    "acme\n",
]
RESERVED = ["www", "api", "admin", "public", "postgres", "static", "health"]
INJECTION = [
    "a'; DROP SCHEMA public CASCADE; --",
    'a"; DROP TABLE users; --',
    "acme OR 1=1",
    "acme;select",
    "a/**/b",
    'tenant_x".users',
]


@pytest.mark.parametrize("slug", VALID)
def test_valid_slugs_are_accepted(slug):
    assert validate_slug(slug) == slug


@pytest.mark.parametrize("slug", INVALID + INJECTION)
def test_malformed_slugs_are_refused(slug):
    with pytest.raises(InvalidSlugError):
        validate_slug(slug)
    with pytest.raises(InvalidSlugError):
        schema_for(slug)


@pytest.mark.parametrize("slug", RESERVED)
def test_reserved_slugs_are_refused(slug):
    with pytest.raises(InvalidSlugError, match="reserved"):
        validate_slug(slug)


def test_non_string_is_refused():
    with pytest.raises(InvalidSlugError):
        validate_slug(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("slug", VALID)
def test_schema_for_is_a_valid_schema_distinct_per_slug(slug):
    schema = schema_for(slug)
    assert validate_schema(schema) == schema
    assert schema.startswith("tenant_")
    assert "-" not in schema


def test_schema_names_do_not_collide_between_distinct_slugs():
    schemas = {schema_for(s) for s in VALID}
    assert len(schemas) == len(VALID)


@pytest.mark.parametrize(
    "schema",
    ["public", "tenant_", "pg_catalog", "tenant_Acme", "tenant_1abc", 'tenant_a"; DROP SCHEMA public; --',
     "information_schema", "tenant_a-b"],
)
def test_validate_schema_refuses_what_we_could_not_have_made(schema):
    with pytest.raises(InvalidSlugError):
        validate_schema(schema)
