"""Start the sandbox marketplaces and write a stores file that points the real clients at them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from ingestion.sandbox.ecb import EcbSandbox
from ingestion.sandbox.generator import DEMO_SHOPS, Incident, SandboxData, SandboxShop
from ingestion.sandbox.server import SandboxClock, SandboxServer
from ingestion.sandbox.shopify import ShopifySandbox, sandbox_token

DEFAULT_SEED = 20261122


def token_env_var(shop_id: str) -> str:
    return "SHOPIFY_TOKEN_" + shop_id.upper().replace("-", "_")


@dataclass
class Sandbox:
    data: SandboxData
    clock: SandboxClock
    shopify: ShopifySandbox
    servers: list[SandboxServer] = field(default_factory=list)

    @property
    def shopify_url(self) -> str:
        return self.servers[0].base_url

    @property
    def ecb_url(self) -> str:
        return self.servers[1].base_url

    def credentials_env(self) -> dict[str, str]:
        return {token_env_var(s.shop_id): sandbox_token(s.shop_id) for s in self.data.shops}

    def stores_document(self) -> dict:
        return {
            "stores": [
                {
                    "store_id": s.shop_id,
                    "platform": "shopify",
                    "name": s.name,
                    "marketplace": s.marketplace,
                    "region": s.region,
                    "country": s.country,
                    "timezone": s.timezone,
                    "currency": s.currency,
                    "owner": s.owner,
                    "base_url": f"{self.shopify_url}/{s.shop_id}",
                    "credentials": {"access_token_env": token_env_var(s.shop_id)},
                }
                for s in self.data.shops
            ],
            "fx": {"base_url": self.ecb_url},
        }

    def write_stores_file(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Written by the sandbox: the demo stores, pointing at the local sandbox servers.\n"
            + yaml.safe_dump(self.stores_document(), sort_keys=False)
        )
        return path

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_sandbox(
    *,
    seed: int = DEFAULT_SEED,
    start: date,
    end: date,
    shops: tuple[SandboxShop, ...] = DEMO_SHOPS,
    clock: SandboxClock | None = None,
    ports: tuple[int, int] = (0, 0),
    bucket_size: int = 40,
    leak_per_second: float = 2.0,
    incidents: tuple[Incident, ...] = (),
) -> Sandbox:
    data = SandboxData.generate(seed, start, end, shops, incidents)
    clock = clock or SandboxClock()
    shopify = ShopifySandbox(data, clock, bucket_size=bucket_size, leak_per_second=leak_per_second)
    servers = [SandboxServer(shopify, port=ports[0]).start(), SandboxServer(EcbSandbox(), port=ports[1]).start()]
    shopify.base_path = servers[0].base_url
    return Sandbox(data, clock, shopify, servers)


def demo_incidents(end: date) -> tuple[Incident, ...]:
    """The demo's story: two days ago the UK shop recalled its USB camp lamp."""
    return (Incident("acme-uk", end - timedelta(days=2), "LAMP-USB"),)


def default_history(days: int = 365, today: date | None = None) -> tuple[date, date]:
    """The demo's history: `days` local days ending today (today's orders appear as the day fills)."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=days), today
