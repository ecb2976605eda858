"""The re-login surge's control fires at the fault's action only, and puts no secret in the journal."""

from __future__ import annotations

import json

from drills.chaos import relogin_control


def test_the_declaration_names_the_fault_and_the_agents_and_holds_no_password() -> None:
    declared = relogin_control.declaration("d1", "kill-site-a", ["an.nguyen"], 60, "")
    arguments = declared["provider"]["arguments"]
    assert (arguments["fault_activity"], arguments["agents"], arguments["count"]) == ("kill-site-a", ["an.nguyen"], 60)
    assert "password" not in json.dumps(declared)
    assert relogin_control.collect("d1", 1) == ([], None)  # declared, never fired


def test_another_activity_does_not_fire_the_surge() -> None:
    relogin_control.declaration("d2", "kill-site-a", ["an.nguyen"], 60, "")
    relogin_control.before_activity_control({"name": "intake-acknowledges"}, "d2", "kill-site-a", ["an.nguyen"], 60)
    assert relogin_control.collect("d2", 1) == ([], None)
