from pathlib import Path

import pytest

from ingestion.config import load_stores
from ingestion.errors import ConfigError

GOOD = """\
stores:
  - store_id: acme-us
    platform: shopify
    name: Acme US
    marketplace: shopify-us
    region: NA
    country: US
    timezone: America/New_York
    currency: USD
    credentials:
      access_token_env: SHOPIFY_TOKEN_ACME_US
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stores.yaml"
    path.write_text(text)
    return path


def test_good_file_loads_with_defaults(tmp_path):
    stores = load_stores(write(tmp_path, GOOD))
    (store,) = stores.stores
    assert store.url("https://{store_id}.myshopify.com") == "https://acme-us.myshopify.com"
    assert store.lookback_days is None  # the source's own look-back applies
    assert stores.fx.base_url == "https://www.ecb.europa.eu"


def test_bad_timezone_names_file_line_and_field(tmp_path):
    path = write(tmp_path, GOOD.replace("America/New_York", "America/New_Yrok"))
    with pytest.raises(ConfigError) as err:
        load_stores(path)
    assert f"{path}:8: stores[0].timezone: 'America/New_Yrok' is not an IANA time zone" in str(err.value)


def test_missing_and_unknown_fields_are_named(tmp_path):
    path = write(tmp_path, GOOD.replace("    currency: USD\n", "    currncy: USD\n"))
    with pytest.raises(ConfigError) as err:
        load_stores(path)
    text = str(err.value)
    assert "stores[0].currency: Field required" in text
    assert f"{path}:9: stores[0].currncy: Extra inputs are not permitted" in text


def test_duplicate_store_and_bad_yaml(tmp_path):
    doubled = GOOD + GOOD.split("stores:\n", 1)[1]
    with pytest.raises(ConfigError, match="acme-us' is declared twice"):
        load_stores(write(tmp_path, doubled))
    with pytest.raises(ConfigError, match=r"stores.yaml:\d+: not valid YAML"):
        load_stores(write(tmp_path, "stores: [\n  - {store_id: x"))
    with pytest.raises(ConfigError, match="cannot read stores file"):
        load_stores(tmp_path / "missing.yaml")


def test_missing_secret_names_the_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOPIFY_TOKEN_ACME_US", raising=False)
    (store,) = load_stores(write(tmp_path, GOOD)).stores
    with pytest.raises(ConfigError, match="SHOPIFY_TOKEN_ACME_US"):
        store.secret()


def test_platform_credentials_and_account_are_checked(tmp_path):
    text = GOOD.replace("platform: shopify", "platform: amazon")
    with pytest.raises(ConfigError) as err:
        load_stores(write(tmp_path, text))
    message = str(err.value)
    assert "amazon credentials need client_id_env + client_secret_env + refresh_token_env" in message
    assert "(got access_token_env)" in message


def test_the_example_stores_file_is_valid_for_every_platform():
    from pathlib import Path

    stores = load_stores(Path(__file__).resolve().parents[2] / "stores.example.yaml")
    assert {s.platform for s in stores.stores} == {"shopify", "amazon", "tiktok", "shopee", "rakuten"}
    amazon = next(s for s in stores.stores if s.platform == "amazon")
    assert amazon.ads is not None and amazon.account["marketplace_id"] == "ATVPDKIKX0DER"


RAKUTEN = """\
stores:
  - store_id: rakuten-jp
    platform: rakuten
    name: Acme Rakuten
    marketplace: rakuten-jp
    region: APAC
    country: JP
    timezone: Asia/Tokyo
    currency: JPY
    credentials:
      service_secret_env: RAKUTEN_SECRET
      license_key_env: RAKUTEN_KEY
    credentials_issued_at:
      license_key: 2026-04-01
"""


def test_credential_issue_dates_load_and_wrong_ones_name_file_line_and_field(tmp_path):
    (store,) = load_stores(write(tmp_path, RAKUTEN)).stores
    assert str(store.credentials_issued_at.license_key) == "2026-04-01"
    assert store.credential_env_vars() == {"service_secret": "RAKUTEN_SECRET", "license_key": "RAKUTEN_KEY"}

    path = write(tmp_path, RAKUTEN.replace("license_key: 2026-04-01", "refresh_token: 2026-04-01"))
    with pytest.raises(ConfigError) as err:
        load_stores(path)
    assert f"{path}:13: stores[0].credentials_issued_at: refresh_token: rakuten has no such expiring credential" in (
        str(err.value)
    )
    path = write(tmp_path, RAKUTEN.replace("2026-04-01", "'1st of April'"))
    with pytest.raises(ConfigError) as err:
        load_stores(path)
    assert f"{path}:14: stores[0].credentials_issued_at.license_key:" in str(err.value)
    with pytest.raises(ConfigError, match=r"month must be in 1\.\.12"):
        load_stores(write(tmp_path, RAKUTEN.replace("2026-04-01", "2026-13-01")))
    shopify = GOOD + "    credentials_issued_at: {refresh_token: 2026-04-01}\n"
    with pytest.raises(ConfigError, match="shopify has no such expiring credential; it has none"):
        load_stores(write(tmp_path, shopify))
