"""Failed check results -> the conditions to alert on: one per sync cause, one per other check."""

from alerting.checks import CheckResult, check_alerts


def result(asset, check, severity="critical", description="", record_id=1, **metadata) -> CheckResult:
    return CheckResult(asset, check, severity, description, record_id, f"run-{record_id}", metadata)


def test_one_store_failing_on_several_assets_and_health_rows_is_one_condition():
    failed = [
        result(
            "raw/shopify/orders",
            "all_stores_synced",
            description="acme-de: auth_expired (refresh token has expired)",
            record_id=11,
            failed_stores=["acme-de"],
        ),
        result(
            "raw/shopify/inventory_levels",
            "all_stores_synced",
            description="acme-us: server_error (503); acme-de: auth_expired (refresh token has expired)",
            record_id=12,
            failed_stores=["acme-us", "acme-de"],
        ),
        result(
            "marts/sync_health",
            "sync_not_failing",
            "warning",
            record_id=13,
            offending=[
                {"store_id": "acme-de", "source": "shopify", "entity": "orders", "level": "warn", "message": "m1"},
            ],
        ),
        result(
            "marts/sync_health",
            "sync_fresh",
            "critical",
            record_id=15,
            offending=[
                {"store_id": "acme-de", "source": "shopify", "entity": "orders", "level": "error", "message": "never"},
                {"store_id": "acme-jp", "source": "shopify", "entity": "orders", "level": "warn", "message": "late"},
            ],
        ),
        result(
            "marts/sync_health",
            "credentials_not_expiring",
            "warning",
            record_id=14,
            offending=[
                {"store_id": "acme-de", "source": "shopify", "entity": "*", "level": "warn", "message": "renew"},
            ],
        ),
    ]
    alerts = {a.condition_key: a for a in check_alerts(failed)}
    assert sorted(alerts) == [
        "sync:acme-de:shopify:credentials_not_expiring",
        "sync:acme-de:shopify:sync_not_failing",
        "sync:acme-jp:shopify:sync_fresh",
        "sync:acme-us:shopify:sync_not_failing",
    ]  # acme-de's staleness is folded into its failures: one cause, one alert
    de = alerts["sync:acme-de:shopify:sync_not_failing"]
    assert (de.source, de.severity, de.rule_id) == ("sync_health", "critical", "sync_not_failing")
    assert de.title == "[CRITICAL] acme-de shopify: sync keeps failing (inventory_levels, orders)"
    assert de.alert_key == "sync:acme-de:shopify:sync_not_failing@15"
    assert "acme-de: auth_expired (refresh token has expired)" in de.body and "m1" in de.body and "never" in de.body
    assert "acme-us" not in de.body
    assert alerts["sync:acme-de:shopify:credentials_not_expiring"].severity == "warning"


def test_other_checks_are_one_condition_per_asset_and_check_with_their_severity():
    alerts = check_alerts(
        [
            result("raw/shopify/orders", "raw_expectations", "warning", "3 records with an unknown currency"),
            result("marts/fct_orders", "staged_expectations", "critical", "keys not unique"),
        ]
    )
    assert [(a.condition_key, a.source, a.severity, a.body) for a in alerts] == [
        ("check:marts/fct_orders:staged_expectations", "check", "critical", "keys not unique"),
        ("check:raw/shopify/orders:raw_expectations", "check", "warning", "3 records with an unknown currency"),
    ]
    assert check_alerts([]) == []
