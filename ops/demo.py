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


# Names as the floor writes them (issue 18): kanji, then the reading in kana, so a rep can say
# the name on the phone. The romaji ids above stay the keys (agent_id, sign-in).
_FAMILY_JA = {
    "sato": ("佐藤", "さとう"),
    "suzuki": ("鈴木", "すずき"),
    "takahashi": ("高橋", "たかはし"),
    "tanaka": ("田中", "たなか"),
    "watanabe": ("渡辺", "わたなべ"),
    "ito": ("伊藤", "いとう"),
    "yamamoto": ("山本", "やまもと"),
    "nakamura": ("中村", "なかむら"),
    "kobayashi": ("小林", "こばやし"),
    "kato": ("加藤", "かとう"),
    "yoshida": ("吉田", "よしだ"),
    "yamada": ("山田", "やまだ"),
    "sasaki": ("佐々木", "ささき"),
    "yamaguchi": ("山口", "やまぐち"),
    "matsumoto": ("松本", "まつもと"),
    "inoue": ("井上", "いのうえ"),
    "kimura": ("木村", "きむら"),
    "hayashi": ("林", "はやし"),
    "shimizu": ("清水", "しみず"),
    "yamazaki": ("山崎", "やまざき"),
    "mori": ("森", "もり"),
    "abe": ("阿部", "あべ"),
    "ikeda": ("池田", "いけだ"),
    "hashimoto": ("橋本", "はしもと"),
    "ishikawa": ("石川", "いしかわ"),
    "ogawa": ("小川", "おがわ"),
    "okada": ("岡田", "おかだ"),
    "goto": ("後藤", "ごとう"),
    "hasegawa": ("長谷川", "はせがわ"),
    "murakami": ("村上", "むらかみ"),
}
_GIVEN_JA = {
    "haruto": ("陽翔", "はると"),
    "yui": ("結衣", "ゆい"),
    "sota": ("蒼太", "そうた"),
    "hina": ("陽菜", "ひな"),
    "ren": ("蓮", "れん"),
    "aoi": ("葵", "あおい"),
    "yuto": ("悠斗", "ゆうと"),
    "mei": ("芽依", "めい"),
    "riku": ("陸", "りく"),
    "sakura": ("さくら", "さくら"),
}
_COMPANY_JA = {
    "Sakura": ("さくら", "さくら"),
    "Fuji": ("富士", "ふじ"),
    "Kaze": ("風", "かぜ"),
    "Midori": ("みどり", "みどり"),
    "Hikari": ("光", "ひかり"),
    "Yama": ("山", "やま"),
    "Umi": ("海", "うみ"),
    "Sora": ("空", "そら"),
    "Hoshi": ("星", "ほし"),
    "Tsuki": ("月", "つき"),
    "Kawa": ("川", "かわ"),
    "Mori": ("森", "もり"),
    "Asahi": ("朝日", "あさひ"),
    "Nishiki": ("錦", "にしき"),
    "Kiri": ("桐", "きり"),
}
_KIND_JA = {
    "Trading": ("商事", "しょうじ"),
    "Foods": ("食品", "しょくひん"),
    "Logistics": ("物流", "ぶつりゅう"),
    "Systems": ("システムズ", "しすてむず"),
    "Motors": ("モーター", "もーたー"),
    "Pharma": ("製薬", "せいやく"),
    "Design": ("デザイン", "でざいん"),
    "Realty": ("不動産", "ふどうさん"),
}


def japanese_name(family: str, given: str) -> str:
    """佐藤 陽翔（さとう はると）"""
    (fk, fr), (gk, gr) = _FAMILY_JA[family], _GIVEN_JA[given]
    return f"{fk} {gk}（{fr} {gr}）"


def company_name(company: str, kind: str) -> str:
    """株式会社錦食品（かぶしきがいしゃにしきしょくひん）"""
    (ck, cr), (kk, kr) = _COMPANY_JA[company], _KIND_JA[kind]
    return f"株式会社{ck}{kk}（かぶしきがいしゃ{cr}{kr}）"


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
                    "name": japanese_name(family, _GIVEN[n % len(_GIVEN)]),
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
                "customer_name": company_name(rng.choice(_COMPANY), rng.choice(_KIND)),
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
