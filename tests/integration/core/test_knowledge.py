"""The knowledge base on the lab: found without diacritics, versioned, suggested at triage,
linked to tickets, published from a resolved ticket's root cause."""

from __future__ import annotations

import uuid

from tests.integration.core.conftest import Front, login


def _token() -> str:
    """A word no other article has, so the test's searches find its own articles only."""
    return "zq" + uuid.uuid4().hex[:8]


def _article(front: Front, word: str) -> dict[str, object]:
    body = {
        "title": f"Khắc phục mất kết nối VPN {word}",
        "body": f"Khi FortiGate báo lỗi xác thực {word}: đặt lại mật khẩu, xoá phiên cũ, kết nối lại.",
        "category": "network",
        "asset_model": "FortiGate 200F",
        "tags": ["vpn", "fortigate"],
    }
    r = front.desk.post(f"{front.tickets}/v1/kb/articles", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_an_article_is_found_without_diacritics_and_each_edit_is_a_version(front: Front) -> None:
    word = _token()
    article = _article(front, word)
    kb = f"{front.tickets}/v1/kb/articles"
    found = front.desk.get(kb, params={"q": f"mat ket noi vpn {word}"}).json()["articles"]
    assert [a["article"]["id"] for a in found] == [article["id"]]
    assert (
        front.desk.get(kb, params={"q": f"Mất Kết Nối {word}"}).json()["articles"][0]["article"]["id"] == article["id"]
    )
    assert front.desk.get(kb, params={"q": word, "category": "camera"}).json()["articles"] == []
    assert front.desk.get(kb, params={"q": "?!"}).status_code == 422

    url = f"{kb}/{article['id']}"
    edit = {k: article[k] for k in ("title", "category", "asset_model", "tags")} | {"body": "Bước mới", "version": 1}
    r = front.desk.put(url, json=edit | {"note": "thêm bước"})
    assert r.status_code == 200 and r.json()["version"] == 2
    stale = front.desk.put(url, json=edit)
    assert stale.status_code == 409 and "at version 2" in stale.json()["detail"]
    versions = front.desk.get(f"{url}/versions").json()["versions"]
    assert [(v["version"], v["note"]) for v in versions] == [(1, "created"), (2, "thêm bước")]
    assert "xoá phiên cũ" in versions[0]["body"]  # the old text is kept

    l1 = login(front.http, front.tickets, "an.nguyen", front.secrets.agent_password)
    refused = front.http.post(kb, json={"title": "abc", "body": "x"}, headers={"Authorization": f"Bearer {l1}"})
    assert refused.status_code == 403  # an L1 engineer reads and links, does not publish


def test_a_ticket_gets_suggestions_links_one_and_publishes_its_own_fix(front: Front) -> None:
    word = _token()
    article = _article(front, word)
    r = front.post(
        "portal",
        {"contact": {"phone": "+84 24 3936 1111"}, "subject": f"VPN mất kết nối {word}", "category": "network"},
    )
    code = r.json()["ticket_code"]
    front.ticket(code)
    base = f"{front.tickets}/v1/tickets/{code}"
    suggested = front.desk.get(f"{base}/suggested-articles").json()["articles"]
    assert suggested and suggested[0]["article"]["id"] == article["id"]

    assert front.desk.post(f"{base}/articles", json={"article_id": article["id"]}).json() == {"linked": True}
    assert front.desk.post(f"{base}/articles", json={"article_id": article["id"]}).json() == {"linked": False}
    linked = [e for e in front.events(code) if e["kind"] == "article_linked"]
    assert [e["data"]["article_id"] for e in linked] == [article["id"]]

    early = front.desk.post(f"{base}/article", json={"tags": ["vpn"]})
    assert early.status_code == 409 and "resolved ticket" in early.json()["detail"]
    assert front.desk.post(f"{base}/transitions", json={"to": "acknowledged"}).status_code == 200
    resolution = {"root_cause": f"Chứng chỉ VPN hết hạn {word}", "actions_taken": "Gia hạn chứng chỉ trên FortiGate"}
    assert front.desk.post(f"{base}/resolution", json=resolution).status_code == 200
    published = front.desk.post(f"{base}/article", json={"tags": ["vpn", "certificate"]})
    assert published.status_code == 201, published.text
    new = published.json()
    assert new["source_ticket"] == code and "Chứng chỉ VPN hết hạn" in new["body"] and new["category"] == "network"
    found = front.desk.get(f"{front.tickets}/v1/kb/articles", params={"q": f"chung chi het han {word}"}).json()
    assert [a["article"]["id"] for a in found["articles"]] == [new["id"]]
