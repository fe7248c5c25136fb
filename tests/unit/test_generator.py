from datetime import date, timedelta

from ingestion.sandbox.generator import DEMO_SHOPS, Incident, SandboxData, orders_for_day, seasonal_factor


def test_a_day_is_the_same_whatever_range_it_is_generated_in():
    short = SandboxData.generate(3, date(2026, 3, 10), date(2026, 3, 12))
    long = SandboxData.generate(3, date(2026, 3, 1), date(2026, 3, 31))
    day = [o.order_id for o in short.orders_by_shop["acme-jp"] if o.order_id // 10_000 % 10_000 == 2260]
    assert day and all(any(o.order_id == i for o in long.orders_by_shop["acme-jp"]) for i in day)
    assert orders_for_day(3, DEMO_SHOPS[0], 0, date(2026, 3, 11)) == orders_for_day(
        3, DEMO_SHOPS[0], 0, date(2026, 3, 11)
    )


def test_black_friday_and_weekends_lift_demand():
    us = DEMO_SHOPS[0]
    assert seasonal_factor(date(2026, 11, 27), us) > 2.5 * seasonal_factor(date(2026, 11, 18), us)
    assert seasonal_factor(date(2026, 3, 14), us) > seasonal_factor(date(2026, 3, 10), us)


def test_refunds_come_after_their_order_and_ids_are_unique():
    data = SandboxData.generate(5, date(2026, 1, 1), date(2026, 2, 28))
    orders = [o for shop in data.orders_by_shop.values() for o in shop]
    assert len({o.order_id for o in orders}) == len(orders)
    refunded = [o for o in orders if o.refunds and o.cancelled_at is None]
    assert len(refunded) > 0.04 * len(orders)
    assert all(r.created_at > o.created_at + timedelta(days=2) for o in refunded for r in o.refunds)
    assert any(o.is_test for o in orders) and any(o.cancelled_at for o in orders)
    assert {o.currency for o in orders} == {"USD", "EUR", "GBP", "JPY", "SGD", "MYR"}


def test_recall_incident_refunds_the_sku_on_the_day_and_changes_nothing_else():
    incident = Incident("acme-uk", date(2026, 2, 20), "LAMP-USB")
    base = SandboxData.generate(5, date(2026, 2, 1), date(2026, 2, 28))
    hit = SandboxData.generate(5, date(2026, 2, 1), date(2026, 2, 28), incidents=(incident,))
    recalls = [r for o in hit.orders_by_shop["acme-uk"] for r in o.refunds if r.note == "recall LAMP-USB"]
    assert len(recalls) >= 5
    assert len(base.orders_by_shop["acme-uk"]) == len(hit.orders_by_shop["acme-uk"])
    assert base.orders_by_shop["acme-us"] == hit.orders_by_shop["acme-us"]


def test_ads_traffic_and_live_streams_agree_with_the_orders():
    from datetime import UTC, datetime
    from decimal import Decimal

    data = SandboxData.generate(5, date(2026, 6, 1), date(2026, 6, 30))
    day = date(2026, 6, 10)
    orders = data.orders_on("amz-us", day)
    attributed = [o for o in orders if o.counts_in_kpis and o.is_ad_attributed()]
    assert attributed, "the fixture day should have ad-attributed orders"
    ads = data.ad_days("amz-us", day)
    assert len(ads) == 3 and all(a.cost > 0 for a in ads)
    assert sum((a.sales for a in ads), Decimal("0")) == sum((o.subtotal for o in attributed), Decimal("0"))
    assert sum(a.purchases for a in ads) == len(attributed)
    # attribution fills in over a week: less the next day, everything a week later
    next_day = datetime(2026, 6, 11, 12, tzinfo=UTC) + timedelta(days=1)
    seen = sum((a.as_seen(next_day)[1] for a in ads), Decimal("0"))
    final = sum((a.as_seen(next_day + timedelta(days=8))[1] for a in ads), Decimal("0"))
    assert seen < final == sum((a.sales for a in ads), Decimal("0"))
    assert data.ad_days("acme-us", day) == []  # shops without an ads profile have no ads

    traffic = data.traffic("amz-us", day)
    assert sum(t.units_ordered for t in traffic) == sum(o.units for o in orders if not o.is_test)

    live_day = next(d for d in data.days() if data.live_sessions("tts-us", d))
    (session, *_) = data.live_sessions("tts-us", live_day)
    during = [o for o in data.orders_on("tts-us", live_day) if data.live_session_of(o, [session]) and o.counts_in_kpis]
    assert session.gmv == sum((o.subtotal for o in during), Decimal("0"))
    assert all(data.content_type(o) == "LIVE" for o in during)


def test_reviews_and_conversations_follow_the_orders_and_are_reproducible():
    from datetime import UTC, datetime

    data = SandboxData.generate(5, date(2026, 3, 1), date(2026, 4, 30))
    again = SandboxData.generate(5, date(2026, 3, 15), date(2026, 4, 30))
    day = date(2026, 4, 20)
    assert data.reviews("shopee-sg", day) and data.reviews("shopee-sg", day) == again.reviews("shopee-sg", day)
    reviews = data.all_reviews("shopee-sg")
    assert len({r.review_id for r in reviews}) == len(reviews)
    assert all(r.order.counts_in_kpis and r.created_at > r.order.fulfilled_at for r in reviews)
    assert {r.rating for r in reviews} == {1, 2, 3, 4, 5}
    refunded = [
        r for r in reviews if any(rl.line_item_id == r.line.line_item_id for f in r.order.refunds for rl in f.lines)
    ]
    happy = [r for r in reviews if r not in refunded]
    # refunded items are reviewed far more negatively
    assert sum(r.is_negative for r in refunded) / len(refunded) > 3 * sum(r.is_negative for r in happy) / len(happy)

    chats = data.all_conversations("tts-us")
    assert len({c.conversation_id for c in chats}) == len(chats)
    for chat in chats:
        times = [m.created_at for m in chat.messages]
        assert times == sorted(times) and chat.started_at >= chat.order.created_at
        if chat.first_reply_at is not None:
            assert chat.first_reply_at > chat.started_at
    assert any(not c.started_by_buyer for c in chats)
    assert any(c.started_by_buyer and c.first_reply_at is None for c in chats)
    hours = sorted((c.first_reply_at - c.started_at).total_seconds() / 3600 for c in chats if c.first_reply_at)
    # seeded, so exact: 73 answered chats, a median of about 3 hours and 4 replies after more than a day
    assert len(hours) == 73
    assert round(hours[len(hours) // 2], 2) == 3.14
    assert sum(h > 24 for h in hours) == 4 and round(hours[-1], 2) == 40.33
    # what a platform shows at a moment: messages up to then
    clock = datetime(2026, 4, 1, tzinfo=UTC)
    assert all(m.created_at <= clock for c in chats for m in c.visible(clock))
