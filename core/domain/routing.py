"""Routing: which specialist team and which region (North/Central/South) a ticket goes to.
Pure: no I/O. Explicit fields win over inference; every step is recorded as a reason.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict

from core.domain.taxonomy import Category, Region


class Team(StrEnum):
    NETWORK = "network"
    SERVER = "server"
    DATACENTER = "datacenter"
    DEVICES = "devices"
    CAMERA = "camera"
    ALARM = "alarm"
    CABLING = "cabling"
    SERVICE_DESK = "service_desk"  # L1 triage when nothing says who should take it


TEAM_OF_CATEGORY: dict[Category, Team] = {
    Category.NETWORK: Team.NETWORK,
    Category.SERVER: Team.SERVER,
    Category.DATACENTER: Team.DATACENTER,
    Category.DEVICES: Team.DEVICES,
    Category.CAMERA: Team.CAMERA,
    Category.ALARM: Team.ALARM,
    Category.CABLING: Team.CABLING,
    Category.OTHER: Team.SERVICE_DESK,
}

# Matched against text folded to ASCII (see fold): Vietnamese with or without diacritics.
CATEGORY_KEYWORDS: dict[Category, tuple[str, ...]] = {
    Category.ALARM: ("fire alarm", "alarm", "bao chay", "bao dong"),
    Category.CAMERA: ("camera", "cctv", "nvr", "dau ghi"),
    Category.CABLING: ("cabling", "cable", "fiber", "fibre", "cap quang", "day cap", "patch panel"),
    Category.DATACENTER: ("datacenter", "data center", "ups", "pdu", "cooling", "dieu hoa", "rack", "mat dien"),
    Category.NETWORK: ("network", "wifi", "switch", "router", "internet", "vpn", "firewall", "mang", "mat ket noi"),
    Category.SERVER: ("server", "may chu", "virtual machine", "database", "he thong", "backup"),
    Category.DEVICES: ("printer", "may in", "laptop", "desktop", "may tinh", "thiet bi", "scanner"),
}

PROVINCES: dict[Region, tuple[str, ...]] = {
    Region.NORTH: (
        "ha noi", "hanoi", "hai phong", "quang ninh", "bac ninh", "hai duong", "hung yen", "thai nguyen",
        "vinh phuc", "nam dinh", "thai binh", "ninh binh", "ha nam", "phu tho", "bac giang", "lao cai",
        "yen bai", "tuyen quang", "ha giang", "cao bang", "lang son", "son la", "dien bien", "lai chau",
        "hoa binh", "bac kan",
    ),
    Region.CENTRAL: (
        "da nang", "danang", "hue", "thua thien", "quang nam", "quang ngai", "binh dinh", "khanh hoa",
        "nha trang", "nghe an", "vinh", "ha tinh", "thanh hoa", "quang binh", "quang tri", "phu yen",
        "gia lai", "dak lak", "dak nong", "kon tum", "lam dong", "da lat", "ninh thuan", "binh thuan",
    ),
    Region.SOUTH: (
        "ho chi minh", "hcm", "sai gon", "saigon", "tphcm", "binh duong", "dong nai", "can tho",
        "vung tau", "ba ria", "long an", "tay ninh", "binh phuoc", "an giang", "kien giang", "tien giang",
        "ben tre", "vinh long", "tra vinh", "dong thap", "hau giang", "soc trang", "bac lieu", "ca mau",
    ),
}  # fmt: skip


class Routing(BaseModel):
    model_config = ConfigDict(frozen=True)

    team: Team
    region: Region | None
    reasons: tuple[str, ...]


def fold(text: str) -> str:
    """Case- and diacritic-insensitive form: 'Đà Nẵng' -> 'da nang'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", bare.casefold()).strip()


@cache
def _whole_word(word: str) -> re.Pattern[str]:
    """`word` as a whole word of folded text, compiled once (routing runs for every ticket)."""
    return re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")


def _first_match(text: str, table: dict[Category, tuple[str, ...]]) -> tuple[Category, str] | None:
    folded = fold(text)
    for category, words in table.items():
        for word in words:
            if word in folded and _whole_word(word).search(folded):
                return category, word
    return None


def region_of_place(place: str) -> Region | None:
    folded = fold(place)
    for region, names in PROVINCES.items():
        for name in names:
            if name in folded and _whole_word(name).search(folded):
                return region
    return None


def route(
    *,
    category: Category | None,
    text: str,
    asset_category: str | None = None,
    region: Region | None = None,
    location: str | None = None,
    asset_region: str | None = None,
    customer_region: str | None = None,
) -> Routing:
    reasons: list[str] = []
    chosen: Category | None = None
    if category is not None and category is not Category.OTHER:
        chosen = category
        reasons.append(f"team from the reported category {category}")
    elif asset_category in {c.value for c in Category} - {Category.OTHER.value}:
        chosen = Category(asset_category)
        reasons.append(f"team from the asset's category {asset_category}")
    else:
        hit = _first_match(text, CATEGORY_KEYWORDS)
        if hit:
            chosen = hit[0]
            reasons.append(f"team from keyword {hit[1]!r}")
    team = TEAM_OF_CATEGORY[chosen] if chosen else Team.SERVICE_DESK
    if chosen is None:
        reasons.append("no category: service desk triage")

    where: Region | None = region
    if where:
        reasons.append(f"region {where} as reported")
    elif location and (where := region_of_place(location)):
        reasons.append(f"region {where} from location {location!r}")
    elif where := region_of_place(text):
        reasons.append(f"region {where} from a place named in the text")
    elif asset_region in {r.value for r in Region}:
        where = Region(asset_region)
        reasons.append(f"region {where} from the asset's site")
    elif customer_region in {r.value for r in Region}:
        where = Region(customer_region)
        reasons.append(f"region {where} from the customer's home region")
    else:
        reasons.append("region unknown")
    return Routing(team=team, region=where, reasons=tuple(reasons))
