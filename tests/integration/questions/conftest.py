"""Helpers for the question bank tests: the courses tests' academy (teachers, learners), a course owned by the
teacher with an enrolled learner."""

from __future__ import annotations

from tests.integration.courses.conftest import academy, enroll, make_academy, tenant_session  # noqa: F401

GIFT = (
    "// A sample with good and bad questions\n"
    "$CATEGORY: Geography/Europe\n"  # line 2
    "\n"
    "// [tag:capitals]\n"
    "::Paris::What is the capital of France? {=Paris#Yes ~London ~Berlin}\n"  # line 5
    "\n"
    "Which are in Europe? {~%50%Spain ~%50%Italy ~%-100%Peru}\n"  # line 7
    "\n"
    "Broken {=a ~b\n"  # line 9
    "\n"
    "$CATEGORY: Geography/Asia\n"
    "\n"
    "// [difficulty:3]\n"
    "Tokyo is the capital of Japan. {T}\n"  # line 14
    "\n"
    "Two right {=a =b ~c}\n"  # line 16
    "\n"
    "How many continents? {#7:0}\n"  # line 18
)
GOOD = 4
