"""The Overview's feed: the model's changes, runs and (for the people it is shared with) comments;
reading it marks it read for the member (the count on My models)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from engage_reflex.services import feed
from engage_reflex.services.errors import EngageError, LoginRequired
from engage_reflex.state._time import changed_ago
from engage_reflex.state.model.base import ModelEditorState


@dataclasses.dataclass(frozen=True)
class FeedRow:
    kind: str  # "change" | "comment" | "run"
    title: str
    text: str
    who: str
    when: str  # "5 minutes ago"
    is_new: bool


def _rows(found: feed.Feed) -> list[FeedRow]:
    return [FeedRow(i.kind, i.title, i.text, i.who, changed_ago(i.when), i.is_new) for i in found.items]


class FeedState(ModelEditorState):
    feed_rows: list[FeedRow] = []
    can_comment: bool = False
    comment_error: str = ""
    comment_key: int = 0  # a new key empties the comment box once posted

    @rx.event
    async def load_feed(self):
        self.comment_error = ""
        try:
            model_id = self._current_model_id()
            found = await self._call(feed.model_feed, model_id=model_id)
            if found.can_comment:  # a member has read it now
                await self._call(feed.mark_seen, model_id=model_id)
        except (LoginRequired, EngageError):
            self.feed_rows, self.can_comment = [], False
            return  # the page says why (its header and overview loads)
        self.feed_rows, self.can_comment = _rows(found), found.can_comment

    @rx.event
    async def post_comment(self, form: dict):
        try:
            posted = await self._call(feed.post_comment, model_id=self.loaded_model_id,
                                      body=str(form.get("comment", "")))
        except (LoginRequired, EngageError) as exc:
            self.comment_error = exc.message
            return
        self.comment_error, self.comment_key = "", self.comment_key + 1
        found = await self._call(feed.model_feed, model_id=self.loaded_model_id)
        self.feed_rows = _rows(found)
        told = f" {', '.join(posted.mentioned)} will get an email." if posted.mentioned else ""
        return rx.toast.success("Comment posted." + told)
