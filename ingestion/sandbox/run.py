"""Start the sandbox marketplaces and write a stores file that points the real clients at them.

One loopback server per API (Shopify, SP-API, LWA, Amazon Ads, TikTok Shop, Shopee, Rakuten, ECB),
all serving the same seeded data: a store's orders, refunds, ads and inventory agree across them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from ingestion.config import EXPIRING_CREDENTIALS
from ingestion.sandbox.ecb import EcbSandbox
from ingestion.sandbox.generator import DEMO_SHOPS, Brushing, Incident, SandboxData, SandboxShop
from ingestion.sandbox.lwa import LwaAuthority
from ingestion.sandbox.server import SandboxApp, SandboxClock, SandboxServer

DEFAULT_SEED = 20261122
# The sandbox grants this multiple of the documented rate limits (a generous usage plan), and the
# stores file tells the clients so; tests of throttling use 1.0.
DEMO_RATE_SCALE = 50.0
# SP-API's documented plan is one getOrders a minute and one report a minute; the sandbox plays a
# generous dynamic usage plan, announced in x-amzn-RateLimit-Limit, which the client adopts.
AMAZON_SANDBOX_RATE_SCALE = 2000.0

# platform -> (module, class) of its sandbox; imported when a shop of that platform is served
PLATFORM_SANDBOXES = {
    "shopify": ("ingestion.sandbox.shopify", "ShopifySandbox"),
    "amazon": ("ingestion.sandbox.amazon", "AmazonSandbox"),
    "tiktok": ("ingestion.sandbox.tiktok", "TikTokSandbox"),
    "shopee": ("ingestion.sandbox.shopee", "ShopeeSandbox"),
    "rakuten": ("ingestion.sandbox.rakuten", "RakutenSandbox"),
}
ADS_SANDBOX = ("ingestion.sandbox.amazon_ads", "AmazonAdsSandbox")
# fixed order of servers when a port base is given: port_base + index
SERVER_ORDER = ("shopify", "ecb", "lwa", "amazon", "amazon_ads", "tiktok", "shopee", "rakuten")


def _sandbox_class(module: str, name: str) -> type:
    return getattr(importlib.import_module(module), name)


@dataclass
class Sandbox:
    data: SandboxData
    clock: SandboxClock
    apps: dict[str, SandboxApp]
    servers: dict[str, SandboxServer] = field(default_factory=dict)
    rate_scale: float = DEMO_RATE_SCALE
    _entries: list[dict] | None = None
    _env: dict[str, str] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.servers[name].base_url

    @property
    def shopify(self):  # the Shopify sandbox app (fault knobs, expiring tokens)
        return self.apps["shopify"]

    @property
    def shopify_url(self) -> str:
        return self.url("shopify")

    @property
    def ecb_url(self) -> str:
        return self.url("ecb")

    def _build(self) -> None:
        if self._entries is not None:
            return
        entries, env = [], {}
        for shop in self.data.shops:
            entry, values = self.apps[shop.platform].store_entry(shop, self.url(shop.platform))
            # the sandbox authorizes every app when it starts: its credentials were issued today, so
            # sync health can count down to their expiry instead of warning that it is unknown
            issued = self.clock.now().date()
            expiring = EXPIRING_CREDENTIALS[shop.platform]
            if expiring:
                entry["credentials_issued_at"] = {name: issued for name in expiring}
            if shop.platform == "amazon":
                entry["auth_url"] = self.url("lwa")
                if shop.ads_profile_id and "amazon_ads" in self.apps:
                    ads, ads_values = self.apps["amazon_ads"].ads_entry(shop, self.url("amazon_ads"))
                    entry["ads"] = {
                        **ads,
                        "auth_url": self.url("lwa"),
                        "credentials_issued_at": {name: issued for name in EXPIRING_CREDENTIALS["amazon_ads"]},
                    }
                    values = {**values, **ads_values}
            entries.append(
                {
                    "store_id": shop.shop_id,
                    "platform": shop.platform,
                    "name": shop.name,
                    "marketplace": shop.marketplace,
                    "region": shop.region,
                    "country": shop.country,
                    "timezone": shop.timezone,
                    "currency": shop.currency,
                    "owner": shop.owner,
                    **{k: v for k, v in entry.items() if k != "platform"},
                    **({"rate_limit_scale": self.rate_scale} if shop.platform != "shopify" else {}),
                }
            )
            env.update(values)
        self._entries, self._env = entries, env

    def credentials_env(self) -> dict[str, str]:
        self._build()
        return dict(self._env)

    def stores_document(self) -> dict:
        self._build()
        return {"stores": list(self._entries or []), "fx": {"base_url": self.ecb_url}}

    def write_stores_file(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Written by the sandbox: the demo stores, pointing at the local sandbox servers.\n"
            + yaml.safe_dump(self.stores_document(), sort_keys=False)
        )
        return path

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


def start_sandbox(
    *,
    seed: int = DEFAULT_SEED,
    start: date,
    end: date,
    shops: tuple[SandboxShop, ...] = DEMO_SHOPS,
    clock: SandboxClock | None = None,
    port_base: int = 0,
    bucket_size: int = 40,
    leak_per_second: float = 2.0,
    rate_scale: float = DEMO_RATE_SCALE,
    incidents: tuple[Incident | Brushing, ...] = (),
) -> Sandbox:
    data = SandboxData.generate(seed, start, end, shops, incidents)
    clock = clock or SandboxClock()
    platforms = {shop.platform for shop in shops}
    apps: dict[str, SandboxApp] = {"ecb": EcbSandbox()}
    if "amazon" in platforms:
        apps["lwa"] = lwa = LwaAuthority(clock)
    for platform in sorted(platforms):
        cls = _sandbox_class(*PLATFORM_SANDBOXES[platform])
        if platform == "shopify":
            apps[platform] = cls(data, clock, bucket_size=bucket_size, leak_per_second=leak_per_second)
        elif platform == "amazon":
            amazon_scale = AMAZON_SANDBOX_RATE_SCALE if rate_scale == DEMO_RATE_SCALE else rate_scale
            apps[platform] = cls(data, clock, lwa=lwa, rate_scale=amazon_scale)
            if any(s.ads_profile_id for s in shops):
                apps["amazon_ads"] = _sandbox_class(*ADS_SANDBOX)(data, clock, lwa=lwa, rate_scale=rate_scale)
        else:
            apps[platform] = cls(data, clock, rate_scale=rate_scale)
    servers = {}
    for name in SERVER_ORDER:
        if name in apps:
            port = port_base + SERVER_ORDER.index(name) if port_base else 0
            servers[name] = SandboxServer(apps[name], port=port).start()
    if "shopify" in apps:
        apps["shopify"].base_path = servers["shopify"].base_url
    return Sandbox(data, clock, apps, servers, rate_scale)


def demo_incidents(end: date) -> tuple[Incident | Brushing, ...]:
    """The demo's story: two days ago the UK shop recalled its USB camp lamp; a week ago someone
    brushed the US Shopify shop's titanium mug with fake orders."""
    return (Incident("acme-uk", end - timedelta(days=2), "LAMP-USB"), Brushing("acme-us", end - timedelta(days=7)))


def default_history(days: int = 365, today: date | None = None) -> tuple[date, date]:
    """The demo's history: `days` local days ending today (today's orders appear as the day fills)."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=days), today
