"""Service KPIs straight from the generator: the independent side of the review and response-time tests.

Nothing here reads the lake, the API payloads or dbt. It applies the catalog's definitions to the
generated reviews and chats as a platform shows them at `clock`: a review counts on the store-local
day it was written, negative means 1 or 2 stars; a conversation counts when the buyer wrote first, on
the local day of that first message, and its response time is the calendar hours to the seller's first
reply (None while unanswered at `clock`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from ingestion.sandbox.generator import SandboxData

# Platforms whose sellers can read product reviews through an API (TikTok Shop offers none).
REVIEW_PLATFORMS = {"shopee"}
CHAT_PLATFORMS = {"shopee", "tiktok"}


@dataclass
class ReviewDay:
    reviews: int = 0
    negative: int = 0

    @property
    def negative_rate(self) -> float | None:
        return self.negative / self.reviews if self.reviews else None


def daily_reviews(
    data: SandboxData, shop_id: str, clock: datetime, days: Iterable[date] | None = None
) -> dict[date, ReviewDay]:
    """Reviews and negative reviews per store-local day, as written up to `clock`."""
    if data.shop(shop_id).platform not in REVIEW_PLATFORMS:
        return {}
    wanted = set(days) if days is not None else None
    out: dict[date, ReviewDay] = defaultdict(ReviewDay)
    for review in data.all_reviews(shop_id):
        day = data.local_date(shop_id, review.created_at)
        if review.created_at > clock or (wanted is not None and day not in wanted):
            continue
        out[day].reviews += 1
        out[day].negative += review.is_negative
    return dict(out)


@dataclass(frozen=True)
class ConversationResponse:
    message_date: date  # store-local day of the buyer's first message
    first_buyer_message_at: datetime
    first_seller_reply_at: datetime | None
    first_response_hours: float | None


def conversation_response_hours(
    data: SandboxData, shop_id: str, clock: datetime, days: Iterable[date] | None = None
) -> dict[str, ConversationResponse]:
    """Per buyer-started conversation visible at `clock` (by conversation id): its date, and the hours
    to the seller's first reply if that reply is visible at `clock`."""
    if data.shop(shop_id).platform not in CHAT_PLATFORMS:
        return {}
    wanted = set(days) if days is not None else None
    out = {}
    for chat in data.all_conversations(shop_id):
        if not chat.started_by_buyer or chat.started_at > clock:
            continue
        day = data.local_date(shop_id, chat.started_at)
        if wanted is not None and day not in wanted:
            continue
        reply = chat.first_reply_at if chat.first_reply_at is not None and chat.first_reply_at <= clock else None
        hours = (reply - chat.started_at).total_seconds() / 3600 if reply is not None else None
        out[str(chat.conversation_id)] = ConversationResponse(day, chat.started_at, reply, hours)
    return out
