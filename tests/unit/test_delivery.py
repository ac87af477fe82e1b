"""Delivery: the weekly report emailed through Airflow's SMTP connection, to a local SMTP server the test
starts (aiosmtpd on 127.0.0.1), with the real SMTP provider hook and smtplib."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rapport.cli import app
from rapport.publish.delivery import week_span

LOGIN = "rapport"
PASSWORD = "s3cret-Pa55word"
REPORT_HTML = (
    "<!doctype html><html><head><title>Rapport</title></head><body><h1>Week 2026-W47 ✓</h1></body></html>"
)


@dataclass
class Mailbox:
    """What the local SMTP server received."""

    port: int
    envelopes: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 that takes the login rapport / PASSWORD (no TLS) and keeps every mail."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    mailbox = Mailbox(free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = message_from_bytes(envelope.content, policy=policy.default)
            mailbox.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), message))
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            LOGIN.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=mailbox.port,
        authenticator=authenticate,
        auth_require_tls=False,
        ready_timeout=10,
    )
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def smtp_connection(port: int, password: str = PASSWORD) -> str:
    """An Airflow SMTP connection as AIRFLOW_CONN_<ID> holds it: plain SMTP on 127.0.0.1 with a login."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "login": LOGIN,
            "password": password,
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 10, "retry_limit": 0},
        }
    )


@pytest.fixture
def published(rapport_home: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: Mailbox) -> Path:
    """Two weekly reports in the published folder, the connection smtp_default on the local server."""
    report_dir = rapport_home / "data" / "published" / "report"
    report_dir.mkdir(parents=True)
    (report_dir / "rapport-2026-W46.html").write_text("<html>an older week</html>", encoding="utf-8")
    (report_dir / "rapport-2026-W47.html").write_text(REPORT_HTML, encoding="utf-8")
    (report_dir / "latest.html").write_text(REPORT_HTML, encoding="utf-8")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(smtp_server.port))
    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_FROM", "rapport@example.org")
    for variable in ("RAPPORT_REPORT_EMAIL_TO", "RAPPORT_REPORT_EMAIL_CONNECTION"):
        monkeypatch.delenv(variable, raising=False)
    return report_dir


def test_the_weekly_report_is_emailed_inline_and_attached_with_its_week_in_the_subject(
    published: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
):
    from rapport.pipeline import deliver_report

    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_TO", "team@example.org, lead@example.org")
    sent = deliver_report()  # the latest week's report of the published folder
    assert sent == {"report": str(published / "rapport-2026-W47.html"), "week": "2026-W47", "emailed_to": 2}

    [(sender, recipients, message)] = smtp_server.envelopes
    assert sender == "rapport@example.org"
    assert recipients == ["team@example.org", "lead@example.org"]
    assert message["To"] == "team@example.org, lead@example.org"
    assert message["Subject"] == "Rapport weekly report 2026-W47: 16 to 22 November 2026"
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert (
        text is not None
        and "2026-W47" in text.get_content()
        and "rapport-2026-W47.html" in text.get_content()
    )
    assert html is not None and html.get_content().rstrip("\r\n") == REPORT_HTML  # the report, inline
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "rapport-2026-W47.html"
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_payload(decode=True) == REPORT_HTML.encode("utf-8")


def test_the_report_the_run_published_is_the_one_emailed(
    published: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
):
    from rapport.pipeline import deliver_report

    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_TO", "team@example.org")
    sent = deliver_report(str(published / "rapport-2026-W46.html"))
    assert sent["week"] == "2026-W46"
    [(_, _, message)] = smtp_server.envelopes
    assert message["Subject"] == "Rapport weekly report 2026-W46: 9 to 15 November 2026"


def test_without_recipients_nothing_is_sent(published: Path, smtp_server: Mailbox):
    from rapport.pipeline import deliver_report

    assert deliver_report() == {"emailed_to": 0}
    assert smtp_server.envelopes == []


def test_a_refused_login_fails_in_one_line_naming_the_connection_and_the_server_never_the_password(
    published: Path,
    smtp_server: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    from rapport.pipeline import deliver_report
    from rapport.publish.delivery import DeliveryError

    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_TO", "team@example.org")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(smtp_server.port, password="wrong-Pa55"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as raised:
        deliver_report()
    message = str(raised.value)
    assert message == (
        f"{published / 'rapport-2026-W47.html'}: written, not emailed: the Airflow connection 'smtp_default' "
        f"(SMTP server 127.0.0.1:{smtp_server.port}) refused the login of 'rapport': "
        "535 5.7.8 Authentication credentials invalid"
    )
    assert "wrong-Pa55" not in message and "wrong-Pa55" not in caplog.text
    assert smtp_server.envelopes == []
    assert (published / "rapport-2026-W47.html").read_text(encoding="utf-8") == REPORT_HTML


def test_a_server_that_cannot_be_reached_is_named_with_the_connection(
    published: Path, monkeypatch: pytest.MonkeyPatch
):
    from rapport.pipeline import deliver_report
    from rapport.publish.delivery import DeliveryError

    port = free_port()  # nothing listens there
    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_TO", "team@example.org")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(port))
    with pytest.raises(DeliveryError, match=r"^[^\n]*$") as raised:
        deliver_report()
    assert f"the Airflow connection 'smtp_default' (SMTP server 127.0.0.1:{port}) could not be used: " in str(
        raised.value
    )
    assert "ConnectionRefusedError" in str(raised.value) and PASSWORD not in str(raised.value)


def test_the_connection_of_the_setting_is_used_and_a_missing_one_is_named_with_its_variable(
    published: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
):
    from rapport.pipeline import deliver_report
    from rapport.publish.delivery import DeliveryError

    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_TO", "team@example.org")
    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_CONNECTION", "smtp_reports")
    with pytest.raises(DeliveryError) as raised:
        deliver_report()
    assert (
        "no Airflow connection 'smtp_reports' (add it in Airflow, or set AIRFLOW_CONN_SMTP_REPORTS)"
        in str(raised.value)
    )
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", smtp_connection(smtp_server.port))
    assert deliver_report()["emailed_to"] == 1
    assert len(smtp_server.envelopes) == 1


def test_rapport_email_report_sends_it_and_refuses_without_recipients(
    published: Path, smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch
):
    runner = CliRunner()
    refused = runner.invoke(app, ["email-report"])
    assert refused.exit_code == 2
    assert "RAPPORT_REPORT_EMAIL_TO names no recipient" in refused.output

    monkeypatch.setenv("RAPPORT_REPORT_EMAIL_TO", "team@example.org")
    result = runner.invoke(app, ["email-report"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"emailed {published / 'rapport-2026-W47.html'} (week 2026-W47) to 1 recipient(s)\n"
    )
    assert [recipients for _, recipients, _ in smtp_server.envelopes] == [["team@example.org"]]

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection(smtp_server.port, password="nope"))
    failed = runner.invoke(app, ["email-report"])
    assert failed.exit_code == 1
    assert failed.output.startswith("error: ") and failed.output.count("\n") == 1
    assert "refused the login of 'rapport'" in failed.output


@pytest.mark.parametrize(
    ("monday", "span"),
    [
        ("2026-11-16", "16 to 22 November 2026"),
        ("2026-11-30", "30 November to 6 December 2026"),
        ("2025-12-29", "29 December 2025 to 4 January 2026"),
    ],
)
def test_the_subject_names_the_days_of_the_week_within_one_unfolded_line(monday: str, span: str):
    from datetime import date

    assert week_span(date.fromisoformat(monday)) == span
    assert len(f"Subject: Rapport weekly report 2026-W01: {span}") <= 78
