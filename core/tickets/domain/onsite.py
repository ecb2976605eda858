"""On-site dispatch: who goes, when they get there, and which warehouse gives the parts. Pure:
no I/O (core.tickets.onsite does the reads and writes, in one transaction).

- **Who**: the nearest technician who is on duty, not on another visit, and has the ticket's
  skill (its team), nearest by the travel matrix from where each one is now. A technician with
  no known way to the place is not a candidate. Ties go to the technician of the ticket's region,
  then by id, so the same facts give the same choice.
- **When**: ETA = now + travel time. A visit that cannot arrive before the resolution is due is
  still sent, with a warning: the engineer decides, and the customer is told.
- **Parts**: every part from one warehouse (one trip to collect them), the nearest to the place
  that holds them all. None holds them all: refused, and nothing is reserved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from core.errors import Conflict


class PartNeed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    part_number: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._/-]+$")
    quantity: int = Field(ge=1, le=1000)


@dataclass(frozen=True)
class Technician:
    id: str
    name: str
    skills: frozenset[str]
    region: str | None
    place: str  # where they are now
    on_duty: bool
    busy: bool  # on another visit


@dataclass(frozen=True)
class Warehouse:
    id: str
    place: str
    stock: Mapping[str, int]  # part number -> quantity on the shelf


@dataclass(frozen=True)
class Choice:
    technician: Technician
    travel_minutes: int
    eta: datetime
    warnings: tuple[str, ...]


class NoTechnician(Conflict):
    """Nobody can go (409): the message says why, so the engineer can act (call someone in)."""


class OutOfStock(Conflict):
    """No warehouse holds every part asked for (409); nothing was reserved."""


def choose_technician(
    technicians: Sequence[Technician],
    skill: str,
    region: str | None,
    place: str,
    minutes_to: Mapping[str, int],
    now: datetime,
    resolution_due: datetime | None,
) -> Choice:
    """`minutes_to`: travel minutes from each known place to `place`."""
    qualified = [t for t in technicians if skill in t.skills]
    free = [t for t in qualified if t.on_duty and not t.busy]
    reachable = [t for t in free if t.place in minutes_to]
    if not reachable:
        why = (
            f"no technician has the skill {skill!r}"
            if not qualified
            else f"no {skill} technician is on duty and free"
            if not free
            else f"no free {skill} technician has a known route to {place!r}"
        )
        raise NoTechnician(why)
    best = min(reachable, key=lambda t: (minutes_to[t.place], t.region != region, t.id))
    minutes = minutes_to[best.place]
    eta = now + timedelta(minutes=minutes)
    warnings: tuple[str, ...] = ()
    if resolution_due is not None and eta > resolution_due:
        late = int((eta - resolution_due).total_seconds() // 60)
        warnings = (f"the technician arrives {late} min after the resolution is due ({resolution_due.isoformat()})",)
    return Choice(best, minutes, eta, warnings)


def choose_warehouse(
    warehouses: Sequence[Warehouse], needs: Sequence[PartNeed], place: str, minutes_to: Mapping[str, int]
) -> Warehouse | None:
    """The nearest warehouse holding every part (None: no part needed). Raises OutOfStock."""
    if not needs:
        return None
    wanted = merged(needs)
    able = [w for w in warehouses if all(w.stock.get(p, 0) >= q for p, q in wanted.items())]
    if not able:
        have = {p: sum(w.stock.get(p, 0) for w in warehouses) for p in wanted}
        short = ", ".join(f"{p} ({wanted[p]} wanted, {have[p]} in stock)" for p in sorted(wanted))
        raise OutOfStock(f"no warehouse holds every part: {short}")
    far = 10**9  # a warehouse with no known route to the place is chosen last
    return min(able, key=lambda w: (minutes_to.get(w.place, far), w.id))


def merged(needs: Sequence[PartNeed]) -> dict[str, int]:
    out: dict[str, int] = {}
    for need in needs:
        out[need.part_number] = out.get(need.part_number, 0) + need.quantity
    return out


def returned(reserved: Mapping[str, int], used: Mapping[str, int]) -> dict[str, int]:
    """What goes back on the shelf when a visit ends: reserved minus used, per part. Using a part
    that was not reserved, or more than was, is refused (the stock would not add up)."""
    extra = sorted(p for p, n in used.items() if n > reserved.get(p, 0))
    if extra:
        raise Conflict(f"parts used beyond what was reserved for the visit: {', '.join(extra)}")
    return {p: n - used.get(p, 0) for p, n in reserved.items()}
