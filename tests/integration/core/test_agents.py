"""Agent accounts, the login audit, revocation and roster import through the front door."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.conftest import wait_until
from tests.integration.core.conftest import DESK_AGENT, Front, fd_tickets, login


def _auth(front: Front, agent: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(front.http, front.tickets, agent, front.secrets.agent_password)}"}


def test_failed_logins_are_audited_and_answer_alike(front: Front) -> None:
    wrong = front.http.post(f"{front.tickets}/v1/agents/login", json={"agent_id": "an.nguyen", "password": "nope"})
    nobody = front.http.post(f"{front.tickets}/v1/agents/login", json={"agent_id": "no.body", "password": "nope"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["detail"] == nobody.json()["detail"]
    audit = front.http.get(f"{front.tickets}/v1/agents/an.nguyen/logins", headers=_auth(front, "hoa.ngo")).json()
    assert any(a["outcome"] == "bad_credentials" for a in audit)
    r = front.http.post(f"{front.tickets}/v1/agents/login", json={"agent_id": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"


def test_revocation_ends_every_session_of_an_agent(front: Front) -> None:
    engineer = _auth(front, "dung.pham")
    assert front.http.get(f"{front.tickets}/v1/agents/me", headers=engineer).status_code == 200
    r = front.http.post(f"{front.tickets}/v1/agents/dung.pham/revoke", headers=engineer)
    assert r.status_code == 403  # an engineer cannot revoke
    r = front.http.post(f"{front.tickets}/v1/agents/dung.pham/revoke", headers=_auth(front, "khoa.ly"))
    assert r.status_code == 200 and r.json()["revoked"] >= 1
    for site in front.topo.data_sites:  # refused at both sites (the other within agents.revocation_refresh_s)
        url = front.topo.site_url(site, "tickets") + "/v1/agents/me"

        def revoked(url: str = url) -> bool | None:
            return front.http.get(url, headers=engineer).status_code == 401 or None

        refused = wait_until(f"revoked at site {site}", revoked, timeout=front.topo.agents.revocation_refresh_s * 3)
        assert refused
    # Signing in again afterwards works: only sessions issued before the revocation are void.
    assert front.http.get(f"{front.tickets}/v1/agents/me", headers=_auth(front, "dung.pham")).status_code == 200


def test_roster_import_refuses_bad_rows_and_unknown_agents_and_changes_nothing(
    front: Front, unique: Callable[[str], str]
) -> None:
    sup = _auth(front, "hoa.ngo")
    before = front.sql("SELECT count(*) FROM duty_shifts")[0][0]
    header = "agent_id,specialty,region,level,date,start,end,time_zone,kind\n"
    cases = {
        header + "an.nguyen,Network,Bắc,L9,2030-01-07,08:00,17:30,,\n": "line 2: level 'L9'",
        header + f"{unique('ghost')},Network,Bắc,L1,2030-01-07,08:00,17:30,,\n": "unknown agents",
        "who,what\nx,y\n": "missing",
    }
    for body, expected in cases.items():
        r = front.http.put(f"{front.tickets}/v1/roster", content=body, headers={**sup, "Content-Type": "text/csv"})
        assert r.status_code == 422, r.text
        assert expected in r.json()["detail"], r.json()
    r = front.http.put(f"{front.tickets}/v1/roster", content=b"x", headers={**sup, "Content-Type": "text/plain"})
    assert r.status_code == 422 and "text/csv" in r.json()["detail"]
    r = front.http.put(
        f"{front.tickets}/v1/roster",
        content=header + "an.nguyen,Network,Bắc,L1,2030-01-07,08:00,17:30,,\n",
        headers={**_auth(front, "an.nguyen"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 403
    assert front.sql("SELECT count(*) FROM duty_shifts")[0][0] == before


def test_failed_sign_ins_from_one_client_are_throttled_with_retry_after_and_audited(
    front: Front, unique: Callable[[str], str]
) -> None:
    base = fd_tickets(front.topo)
    agent = unique("nobody")
    limit = front.topo.agents.login_max_failures
    for _ in range(limit):
        r = front.http.post(f"{base}/v1/agents/login", json={"agent_id": agent, "password": "wrong"})
        assert r.status_code == 401, r.text
    refused = front.http.post(f"{base}/v1/agents/login", json={"agent_id": agent, "password": "wrong"})
    assert refused.status_code == 429, refused.text
    assert refused.json()["type"].endswith("/too-many-requests")
    assert 1 <= int(refused.headers["retry-after"]) <= front.topo.agents.login_window_s
    outcomes = front.sql("SELECT outcome, client FROM agent_logins WHERE agent_id = %s ORDER BY id", agent)
    assert [o for o, _ in outcomes] == ["bad_credentials"] * limit + ["throttled"]
    assert {c for _, c in outcomes} == {"127.0.0.1"}  # the client behind the front door, not the proxy
    # Another account from the same desk still signs in: the throttle is per agent ID and client.
    ok = front.http.post(
        f"{base}/v1/agents/login", json={"agent_id": DESK_AGENT, "password": front.secrets.agent_password}
    )
    assert ok.status_code == 200, ok.text


def test_an_sre_cannot_create_a_supervisor_account(front: Front, unique: Callable[[str], str]) -> None:
    base = fd_tickets(front.topo)
    sre = login(front.http, base, "khoa.ly", front.secrets.agent_password)  # infra/lab/demo_agents.py
    body = {
        "id": unique("boss").lower(),
        "name": "Would-be supervisor",
        "password": "a-long-enough-password",
        "role": "supervisor",
        "home_site": "a",
    }
    r = front.http.post(f"{base}/v1/agents", json=body, headers={"Authorization": f"Bearer {sre}"})
    assert r.status_code == 403, r.text
    assert front.sql("SELECT count(*) FROM agents WHERE id = %s", body["id"]) == [(0,)]
    body |= {"id": unique("l1").lower(), "role": "agent-L1"}
    ok = front.http.post(f"{base}/v1/agents", json=body, headers={"Authorization": f"Bearer {sre}"})
    assert ok.status_code == 201, ok.text
