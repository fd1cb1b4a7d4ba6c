"""Demo data for the local stack: four teams, 30 agents, 500 customers with owners.

Generated from a fixed seed so every newcomer sees the same customers, and written as the same
CSV files operators import in production (ops/demo_data/), through the same import code.
"""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path

from ops.imports import AGENT_COLUMNS, CUSTOMER_COLUMNS

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
AGENTS_CSV = DEMO_DIR / "agents.csv"
CUSTOMERS_CSV = DEMO_DIR / "customers.csv"

TEAMS = {"tokyo-sales": 10, "osaka-sales": 8, "enterprise": 6, "support": 6}
_FAMILY = [
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "watanabe",
    "ito",
    "yamamoto",
    "nakamura",
    "kobayashi",
    "kato",
    "yoshida",
    "yamada",
    "sasaki",
    "yamaguchi",
    "matsumoto",
    "inoue",
    "kimura",
    "hayashi",
    "shimizu",
    "yamazaki",
    "mori",
    "abe",
    "ikeda",
    "hashimoto",
    "ishikawa",
    "ogawa",
    "okada",
    "goto",
    "hasegawa",
    "murakami",
]
_GIVEN = ["haruto", "yui", "sota", "hina", "ren", "aoi", "yuto", "mei", "riku", "sakura"]
_COMPANY = [
    "Sakura",
    "Fuji",
    "Kaze",
    "Midori",
    "Hikari",
    "Yama",
    "Umi",
    "Sora",
    "Hoshi",
    "Tsuki",
    "Kawa",
    "Mori",
    "Asahi",
    "Nishiki",
    "Kiri",
]
_KIND = ["Trading", "Foods", "Logistics", "Systems", "Motors", "Pharma", "Design", "Realty"]


def worker_sid(agent_id: str) -> str:
    return "WK" + hashlib.md5(agent_id.encode()).hexdigest()  # noqa: S324 - an id, not security


def demo_agents() -> list[dict[str, str]]:
    agents = []
    names = iter(_FAMILY)
    for team, size in TEAMS.items():
        for n in range(size):
            family = next(names)
            agent_id = f"{family}.{_GIVEN[n % len(_GIVEN)]}"
            agents.append(
                {
                    "agent_id": agent_id,
                    "name": f"{family.title()} {_GIVEN[n % len(_GIVEN)].title()}",
                    "team": team,
                    "worker_sid": worker_sid(agent_id),
                }
            )
    return agents


def _phone(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        return f"03-{rng.randint(3000, 6999)}-{rng.randint(0, 9999):04d}"
    if kind < 0.6:
        return f"06-{rng.randint(6000, 6999)}-{rng.randint(0, 9999):04d}"
    prefix = rng.choice(["090", "080", "070"])
    return f"{prefix}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"


def demo_customers(
    agents: list[dict[str, str]], count: int = 500, seed: int = 7
) -> list[dict[str, str]]:
    rng = random.Random(seed)
    customers = []
    phones: set[str] = set()
    for n in range(count):
        phone = _phone(rng)
        while phone in phones:
            phone = _phone(rng)
        phones.add(phone)
        owner = rng.choice(agents)
        # A tenth of customers belong to a team without a personal owner.
        owned = rng.random() >= 0.1
        customers.append(
            {
                "phone": phone,
                "customer_id": f"C{n + 1:05d}",
                "customer_name": f"{rng.choice(_COMPANY)} {rng.choice(_KIND)} K.K.",
                "owner_agent_id": owner["agent_id"] if owned else "",
                "team": owner["team"],
            }
        )
    return customers


def write_demo_files(directory: Path = DEMO_DIR) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    agents = demo_agents()
    for path, columns, rows in (
        (directory / AGENTS_CSV.name, AGENT_COLUMNS, agents),
        (directory / CUSTOMERS_CSV.name, CUSTOMER_COLUMNS, demo_customers(agents)),
    ):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)
    return directory / AGENTS_CSV.name, directory / CUSTOMERS_CSV.name
