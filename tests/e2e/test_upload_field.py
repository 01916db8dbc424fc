"""A signed-in member chooses a new picture on the profile page: upload_field sends it through /uploads with a
progress bar; the connection drops during the first attempt and the upload resumes by itself; the bar finishes,
the form saves the uploaded file's id, and the page shows the new picture."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from tests.e2e.flows import expect_signed_in, sign_in

pytestmark = pytest.mark.e2e


def picture() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_a_picture_uploads_with_progress_and_is_saved(create_tenant, page):
    org = create_tenant("upl")
    sign_in(page, org.url(), org.admin_email, org.admin_password)
    expect_signed_in(page, org.admin_name)
    page.goto(org.url("/account/profile"))
    field = page.locator("[data-upload]")
    dropped: list[str] = []

    def lose_the_first_attempt(route):  # the network fails once while the part is on its way
        if not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/uploads/*/parts/1", lambda route: lose_the_first_attempt(route)
               if route.request.method == "PUT" else route.continue_())
    page.get_by_label("Picture").set_input_files({"name": "me.png", "mimeType": "image/png", "buffer": picture()})
    expect(page.get_by_role("status").filter(has_text="Connection lost")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Uploaded: me.png")).to_be_visible()
    assert len(dropped) == 1
    expect(field.locator("progress")).to_have_attribute("value", "100")
    expect(field).to_have_attribute("data-upload-state", "done")
    file_id = field.locator("input[type=hidden]").input_value()
    assert len(file_id) == 36
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(org.url("/account/profile?notice=profile_saved"))
    avatar = page.get_by_role("img", name="Your picture")
    expect(avatar).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=avatar.element_handle())
    assert avatar.evaluate("img => img.naturalWidth") == 512  # re-encoded by the server, at most 512 a side
