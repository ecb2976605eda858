"""Customer, contract and asset verification. Pure: the repository looks the rows up, this
decides what they mean. The outcome is recorded on the ticket; it never drops an incident.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class CustomerRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    time_zone: str
    region: str | None = None


class ContractRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    number: str
    customer_id: str
    tier: str
    starts_on: date
    ends_on: date
    calendar: str  # "24x7" | "business_hours"


class AssetRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    serial: str
    customer_id: str | None = None
    contract_number: str | None = None
    model: str | None = None
    category: str | None = None
    warranty_until: date | None = None
    location: str | None = None
    region: str | None = None


class ContractStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    NOT_STARTED = "not_started"
    UNKNOWN = "unknown"  # a number was given but no such contract
    NONE = "none"  # no number given and none found through the asset


class WarrantyStatus(StrEnum):
    UNDER_WARRANTY = "under_warranty"
    OUT_OF_WARRANTY = "out_of_warranty"
    NO_WARRANTY_DATA = "no_warranty_data"
    UNKNOWN_SERIAL = "unknown_serial"
    NONE = "none"


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str | None
    customer_known: bool
    contract_number: str | None
    contract: ContractStatus
    tier: str | None
    asset_serial: str | None
    warranty: WarrantyStatus
    notes: tuple[str, ...]


def verify(
    *,
    today: date,
    customer_id: str | None,
    contract_number: str | None,
    asset_serial: str | None,
    customer: CustomerRef | None,
    contract: ContractRef | None,
    asset: AssetRef | None,
) -> Verification:
    """`customer`, `contract`, `asset` are the rows found for the given (or asset-derived) keys."""
    notes: list[str] = []
    if asset_serial and asset is None:
        warranty = WarrantyStatus.UNKNOWN_SERIAL
        notes.append(f"serial {asset_serial} is not in the asset register")
    elif asset is None:
        warranty = WarrantyStatus.NONE
    elif asset.warranty_until is None:
        warranty = WarrantyStatus.NO_WARRANTY_DATA
    elif asset.warranty_until >= today:
        warranty = WarrantyStatus.UNDER_WARRANTY
        notes.append(f"serial {asset.serial} under warranty until {asset.warranty_until}")
    else:
        warranty = WarrantyStatus.OUT_OF_WARRANTY
        notes.append(f"serial {asset.serial} warranty ended {asset.warranty_until}")

    number = contract_number or (asset.contract_number if asset else None)
    if contract is None:
        status = ContractStatus.UNKNOWN if number else ContractStatus.NONE
        if number:
            notes.append(f"contract {number} not found")
    elif today < contract.starts_on:
        status = ContractStatus.NOT_STARTED
        notes.append(f"contract {contract.number} starts {contract.starts_on}")
    elif today > contract.ends_on:
        status = ContractStatus.EXPIRED
        notes.append(f"contract {contract.number} expired {contract.ends_on}")
    else:
        status = ContractStatus.ACTIVE

    cid = customer_id or (contract.customer_id if contract else None) or (asset.customer_id if asset else None)
    if customer_id and contract and contract.customer_id != customer_id:
        notes.append(f"contract {contract.number} belongs to customer {contract.customer_id}, not {customer_id}")
    if cid and customer is None:
        notes.append(f"customer {cid} not found")
    return Verification(
        customer_id=cid,
        customer_known=customer is not None,
        contract_number=number,
        contract=status,
        tier=contract.tier if contract and status is ContractStatus.ACTIVE else None,
        asset_serial=asset_serial,
        warranty=warranty,
        notes=tuple(notes),
    )
