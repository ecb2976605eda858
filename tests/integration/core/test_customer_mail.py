"""What the customer lives through: mail through the lab's relay (Postfix at the witness), the
status page their link opens, and the rating they give there."""

from __future__ import annotations

import smtplib
import ssl
import time
from pathlib import Path

import pytest

from infra.lab.pki import ca_file, pki_dir
from infra.topology import Topology
from tests.integration.core.conftest import Front
from tests.integration.core.mail import LINK, customer_address, mail_to, open_ticket, wait_for_mail


def test_the_acknowledgement_reaches_the_customer_and_its_link_opens_that_ticket_only(front: Front) -> None:
    since, address = time.time(), customer_address()
    opened = open_ticket(front, address, "Máy in tầng 2 không in được")
    code = opened["ticket_code"]
    ack = wait_for_mail(front.topo, address, since, "Received")
    assert str(ack["Subject"]).startswith(f"[{code}] ")
    body = ack.get_content()
    assert f"Incident code: {code}" in body and "Priority: P" in body and "(UTC+07:00)" in body
    link = LINK.search(body)
    assert link is not None and link["code"] == code, body
    assert opened["status_page"] == link.group(0)  # the portal shows the customer the same page at once

    page = front.http.get(link.group(0))
    assert page.status_code == 200 and code in page.text and "Máy in tầng 2" in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    tag = link["tag"]
    forged = tag[:-1] + ("A" if tag[-1] != "A" else "B")
    assert front.http.get(f"{front.tickets}/status/{code}?k={forged}").status_code == 404
    assert front.http.get(f"{front.tickets}/status/{code}").status_code == 404
    other = open_ticket(front, customer_address(), "Một sự cố khác")["ticket_code"]
    front.ticket(other)
    assert front.http.get(f"{front.tickets}/status/{other}?k={tag}").status_code == 404  # the link is per ticket
    assert len(mail_to(front.topo, address, since)) == 1  # one acknowledgement, not one per attempt


def test_the_resolution_mail_gives_the_root_cause_and_the_rating_given_on_the_page_reaches_the_ticket(
    front: Front,
) -> None:
    since, address = time.time(), customer_address()
    code = open_ticket(front, address, "Camera cổng 3 mất hình")["ticket_code"]
    front.ticket(code)
    tickets = f"{front.tickets}/v1/tickets/{code}"
    assert front.desk.post(f"{tickets}/transitions", json={"to": "acknowledged"}).status_code == 200
    resolution = {"root_cause": "Nguồn PoE của camera hỏng", "actions_taken": "Thay bộ nguồn PoE"}
    assert front.desk.post(f"{tickets}/resolution", json=resolution).status_code == 200

    resolved = wait_for_mail(front.topo, address, since, "Resolved")
    body = resolved.get_content()
    assert "Root cause: Nguồn PoE của camera hỏng" in body and "What we did: Thay bộ nguồn PoE" in body
    link = LINK.search(body)
    assert link is not None
    page = front.http.get(link.group(0))
    assert page.status_code == 200 and 'id="csat"' in page.text and "Nguồn PoE của camera hỏng" in page.text

    rate = f"{front.tickets}/status/{code}/csat"
    bad = front.http.post(rate, data={"k": link["tag"], "score": "9"})
    assert bad.status_code == 422
    forged = front.http.post(rate, data={"k": link["tag"][:-2], "score": "4"})
    assert forged.status_code == 404
    assert front.ticket(code)["csat_score"] is None  # neither changed anything
    done = front.http.post(rate, data={"k": link["tag"], "score": "4", "comment": "Xử lý nhanh"})
    assert done.status_code == 303 and done.headers["location"].endswith("&rated=1")
    ticket = front.ticket(code)
    assert (ticket["csat_score"], ticket["csat_comment"]) == (4, "Xử lý nhanh")
    [csat] = [e for e in front.events(code) if e["kind"] == "csat"]
    assert csat["actor"] == f"customer:{address}"
    again = front.http.post(rate, data={"k": link["tag"], "score": "1"})
    assert again.status_code == 409 and front.ticket(code)["csat_score"] == 4  # one rating per resolution

    manager = front.topo.failover.servicedesk_manager
    complained = front.http.post(
        f"{front.tickets}/status/{code}/complaint",
        data={"k": link["tag"], "text": "Camera mất hình lần thứ ba trong tháng"},
    )
    assert complained.status_code == 303 and complained.headers["location"].endswith("&complained=1")
    told = wait_for_mail(front.topo, manager, since, code)
    assert "COMPLAINT" in str(told["Subject"]) and "lần thứ ba trong tháng" in told.get_content()


def _relay(topo: Topology) -> smtplib.SMTP:
    smtp = smtplib.SMTP(str(topo.site(topo.mail.relay_site).address), topo.mail.relay_port, timeout=10)
    smtp.ehlo()
    return smtp


def _tls(topo: Topology, cert: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file(topo)))
    if cert is not None:
        context.load_cert_chain(cert, cert.with_suffix(".key"))
    return context


def test_the_relay_takes_mail_only_over_tls_from_a_data_sites_certificate(front: Front) -> None:
    topo = front.topo
    with _relay(topo) as smtp:
        assert smtp.mail("servicedesk@ccdr.lab")[0] == 530  # Must issue a STARTTLS command first
    with _relay(topo) as smtp:  # encrypted, but no certificate: the relay hangs up
        smtp.starttls(context=_tls(topo, None))
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.ehlo()
            smtp.mail("servicedesk@ccdr.lab")
    with _relay(topo) as smtp:  # the operators' certificate, from the same CA, is not a sender
        smtp.starttls(context=_tls(topo, pki_dir(topo) / "ops.crt"))
        smtp.ehlo()
        assert smtp.mail("servicedesk@ccdr.lab")[0] == 250
        code, text = smtp.rcpt("khach@example.vn")
        assert code == 554 and b"denied" in text.lower(), text
    with _relay(topo) as smtp:  # a data site's certificate: taken
        smtp.starttls(context=_tls(topo, pki_dir(topo) / f"site-{topo.data_sites[0]}.crt"))
        smtp.ehlo()
        assert smtp.mail("servicedesk@ccdr.lab")[0] == 250
        assert smtp.rcpt("khach@example.vn")[0] == 250
        smtp.rset()
