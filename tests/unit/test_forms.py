"""Form helpers: the redirect after a form keeps its fragment after the notice's query."""

from __future__ import annotations

from tajiconnect.web.forms import see_other


def test_a_notice_goes_in_the_query_before_the_fragment():
    assert see_other("/career/resume#reviews", notice="saved").url == "/career/resume?notice=saved#reviews"
    assert see_other("/jobs?q=a#list", notice="saved").url == "/jobs?q=a&notice=saved#list"
    assert see_other("/jobs").url == "/jobs"
