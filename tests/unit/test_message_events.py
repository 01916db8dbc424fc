"""What the live stream and the API say about a message: a hidden one says nothing of its text or attachment."""

from __future__ import annotations

import datetime
import uuid

from tajiconnect.domains.messages.models import Message
from tajiconnect.domains.messages.pages import event_of
from tajiconnect.domains.messages.service import MessageView
from tajiconnect.domains.storage.models import StoredFile

AT = datetime.datetime(2026, 12, 1, 9, 30, tzinfo=datetime.UTC)


def view(**values) -> MessageView:
    sender = uuid.uuid4()
    message = Message(id=uuid.uuid4(), conversation_id=uuid.uuid4(), seq=7, sender_id=sender, body="See the form",
                      created_at=AT, **values)
    return MessageView(message, "Tess", StoredFile(original_name="form.pdf"))


def test_a_message_event_carries_text_attachment_and_whose_it_is():
    v = view()
    event = event_of(v, v.message.sender_id)
    assert event["body"] == "See the form" and event["mine"] is True and event["seq"] == 7
    assert event["attachment"] == {"name": "form.pdf", "url": f"/messages/attachments/{v.message.id}"}
    assert event["at"] == AT.isoformat() and event["hidden"] is False
    assert event_of(v, uuid.uuid4())["mine"] is False


def test_a_hidden_message_event_says_nothing_of_its_content():
    event = event_of(view(hidden_at=AT, hidden_reason="rude"), uuid.uuid4())
    assert event["hidden"] is True and event["body"] == "" and event["attachment"] is None
    assert "rude" not in str(event)
