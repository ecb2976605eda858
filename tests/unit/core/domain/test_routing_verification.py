"""Routing (team and region) and verification (contract, warranty), pure."""

from __future__ import annotations

from datetime import date

import pytest

from core.domain.routing import Team, fold, region_of_place, route
from core.domain.taxonomy import Category, Region
from core.domain.verification import AssetRef, ContractRef, ContractStatus, CustomerRef, WarrantyStatus, verify


def test_fold_drops_diacritics_and_case() -> None:
    assert fold("Đà  Nẵng") == "da nang"
    assert fold("HỒ CHÍ MINH") == "ho chi minh"


@pytest.mark.parametrize(
    ("place", "region"),
    [
        ("Chi nhánh Hà Nội", Region.NORTH),
        ("Đà Nẵng", Region.CENTRAL),
        ("Q1, TP Hồ Chí Minh", Region.SOUTH),
        ("Paris", None),
    ],
)
def test_region_of_place(place: str, region: Region | None) -> None:
    assert region_of_place(place) == region


def test_explicit_fields_win_over_inference() -> None:
    r = route(category=Category.CAMERA, text="mạng chập chờn", region=Region.SOUTH, location="Hà Nội")
    assert (r.team, r.region) == (Team.CAMERA, Region.SOUTH)


@pytest.mark.parametrize(
    ("text", "team"),
    [
        ("Mất kết nối mạng", Team.NETWORK),
        ("máy chủ không khởi động", Team.SERVER),
        ("UPS on battery", Team.DATACENTER),
        ("camera cổng mất hình", Team.CAMERA),
        ("tủ báo cháy kêu", Team.ALARM),
        ("đứt cáp quang", Team.CABLING),
        ("máy in kẹt giấy", Team.DEVICES),
        ("hỏi về hoá đơn", Team.SERVICE_DESK),
    ],
)
def test_team_from_keywords(text: str, team: Team) -> None:
    assert route(category=None, text=text).team == team


def test_region_fallbacks_in_order() -> None:
    assert route(category=None, text="x", asset_region="central", customer_region="north").region == Region.CENTRAL
    assert route(category=None, text="x", customer_region="north").region == Region.NORTH
    assert route(category=None, text="lỗi ở Cần Thơ").region == Region.SOUTH
    unknown = route(category=None, text="x")
    assert unknown.region is None and "region unknown" in unknown.reasons


CUSTOMER = CustomerRef(id="C1", name="n", time_zone="Asia/Ho_Chi_Minh")
CONTRACT = ContractRef(
    number="K1", customer_id="C1", tier="gold", starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31), calendar="24x7"
)
ASSET = AssetRef(serial="S1", customer_id="C1", contract_number="K1", warranty_until=date(2025, 6, 30))


@pytest.mark.parametrize(
    ("today", "contract", "warranty"),
    [
        (date(2025, 3, 1), ContractStatus.ACTIVE, WarrantyStatus.UNDER_WARRANTY),
        (date(2025, 9, 1), ContractStatus.ACTIVE, WarrantyStatus.OUT_OF_WARRANTY),
        (date(2026, 1, 1), ContractStatus.EXPIRED, WarrantyStatus.OUT_OF_WARRANTY),
        (date(2024, 1, 1), ContractStatus.NOT_STARTED, WarrantyStatus.UNDER_WARRANTY),
    ],
)
def test_serial_alone_finds_contract_and_customer(
    today: date, contract: ContractStatus, warranty: WarrantyStatus
) -> None:
    v = verify(
        today=today,
        customer_id=None,
        contract_number=None,
        asset_serial="S1",
        customer=CUSTOMER,
        contract=CONTRACT,
        asset=ASSET,
    )
    assert (v.contract, v.warranty, v.customer_id, v.contract_number) == (contract, warranty, "C1", "K1")
    assert v.tier == ("gold" if contract is ContractStatus.ACTIVE else None)


def test_unknown_references_are_recorded_not_refused() -> None:
    v = verify(
        today=date(2025, 3, 1),
        customer_id="C9",
        contract_number="K9",
        asset_serial="S9",
        customer=None,
        contract=None,
        asset=None,
    )
    assert (v.contract, v.warranty, v.customer_known) == (ContractStatus.UNKNOWN, WarrantyStatus.UNKNOWN_SERIAL, False)
    assert len(v.notes) == 3
