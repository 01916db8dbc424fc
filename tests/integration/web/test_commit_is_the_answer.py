"""A success answer is sent only after the commit succeeded; a commit that fails is an error and leaves no trace.

The database is made to refuse the commit itself: a deferred constraint trigger (checked at COMMIT, after every
statement of the request succeeded) rejects one particular name. Before the fix the commit ran while the answer
was being sent, its failure was swallowed, and the client read "saved".
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import audit_entries, bearer_for, load_user, post_form, tenant_sql

REFUSED = "Refused At Commit"


@pytest.fixture
async def refusing_org(fresh_org, engine):
    await tenant_sql(engine, fresh_org.tenant, f"""
        CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.name = '{REFUSED}' THEN
            RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$""")
    await tenant_sql(engine, fresh_org.tenant, """
        CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER UPDATE ON users DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()""")
    return fresh_org


async def test_a_page_whose_commit_fails_does_not_say_saved(signed_in, refusing_org, engine):
    org = refusing_org
    before = len(await audit_entries(engine, org.tenant, "user.profile.updated"))
    async with signed_in(org.admin) as client:
        response = await post_form(
            client, "/account/profile", {"name": REFUSED, "locale": "en", "time_zone": "Africa/Nairobi"}
        )
        assert response.status_code == 409, response.status_code
        assert "location" not in response.headers
        assert "text/html" in response.headers["content-type"]
        ok = await post_form(client, "/account/profile", {"name": "Accepted", "locale": "en",
                                                          "time_zone": "Africa/Nairobi"})
        assert ok.status_code == 303
    assert (await load_user(engine, org.tenant, org.admin.id)).name == "Accepted"
    # exactly one audit entry: the commit that succeeded
    assert len(await audit_entries(engine, org.tenant, "user.profile.updated")) == before + 1


async def test_an_api_write_whose_commit_fails_is_an_error_not_a_200(client_for, refusing_org, make_user, engine):
    org = refusing_org
    member = await make_user(org.tenant, ["student"], name="Original Name")
    async with client_for(org.tenant) as client:
        headers = await bearer_for(client, org.admin)
        response = await client.patch(f"/api/v1/users/{member.id}", json={"name": REFUSED}, headers=headers)
        assert response.status_code == 409, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        read = await client.get(f"/api/v1/users/{member.id}", headers=headers)
        assert read.json()["name"] == "Original Name"
    assert [e for e in await audit_entries(engine, org.tenant, "user.renamed")] == []
