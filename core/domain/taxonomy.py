"""The service desk's vocabulary shared by intake and tickets: incident categories and regions."""

from __future__ import annotations

from enum import StrEnum


class Region(StrEnum):
    NORTH = "north"
    CENTRAL = "central"
    SOUTH = "south"


class Category(StrEnum):
    NETWORK = "network"
    SERVER = "server"
    DATACENTER = "datacenter"
    DEVICES = "devices"
    CAMERA = "camera"
    ALARM = "alarm"
    CABLING = "cabling"
    OTHER = "other"
