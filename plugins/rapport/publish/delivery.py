"""Delivery: the weekly report by email, through Airflow's SMTP connection.

The message has the report inline as its HTML part, a short text part for mail
readers that show no HTML, and the report's file attached. It goes to the
addresses of ``RAPPORT_REPORT_EMAIL_TO`` (none by default: nothing is sent)
through the Airflow connection ``RAPPORT_REPORT_EMAIL_CONNECTION``
(``smtp_default``): its host, port, login, password and TLS extras, read by
the SMTP provider's hook. Outside Airflow (``rapport email-report``) the same
hook reads the connection from ``AIRFLOW_CONN_<ID>``. The password is never
logged nor put in an error.
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Final

from rapport.errors import RapportError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rapport.settings import Settings

log = logging.getLogger(__name__)

_WEEKLY_FILE: Final = re.compile(r"rapport-(\d{4})-W(\d{2})\.html")
"""The name ``write_report`` gives a week's report: ``rapport-2026-W47.html``."""


class DeliveryError(RapportError, RuntimeError):
    """The report was written but could not be emailed; the message names the connection and the server."""


@dataclass(frozen=True)
class Delivery:
    """What was emailed: the report, the week it covers and how many addresses it went to."""

    report: Path
    week_label: str
    recipients: int


def report_week(report: Path) -> date:
    """The Monday of the ISO week a weekly report file covers, read from its name.

    Raises ``DeliveryError`` for a file not named as ``write_report`` names them.
    """
    match = _WEEKLY_FILE.fullmatch(report.name)
    if match is None:
        raise DeliveryError(f"{report}: not a weekly report (rapport-<year>-W<week>.html)")
    return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)


def latest_report(report_dir: Path) -> Path:
    """The weekly report of the latest week in ``report_dir``. Raises ``DeliveryError`` when there is none."""
    reports = sorted(path for path in report_dir.glob("rapport-*.html") if _WEEKLY_FILE.fullmatch(path.name))
    if not reports:
        raise DeliveryError(f"{report_dir}: no weekly report to email; run the pipeline first")
    return reports[-1]  # the names sort by ISO year, then week


def week_span(monday: date) -> str:
    """The days of a week in words: ``16 to 22 November 2026``, ``29 December 2025 to 4 January 2026``."""
    sunday = monday + timedelta(days=6)
    if monday.year != sunday.year:
        start = f"{monday.day} {monday:%B %Y}"
    elif monday.month != sunday.month:
        start = f"{monday.day} {monday:%B}"
    else:
        start = str(monday.day)
    return f"{start} to {sunday.day} {sunday:%B %Y}"


def report_message(report: Path, recipients: Sequence[str], sender: str) -> EmailMessage:
    """The email of a weekly report: subject naming its week, a short text part, the report as the
    HTML part, and the report's file attached."""
    monday = report_week(report)
    iso_year, iso_week, _ = monday.isocalendar()
    week_label = f"{iso_year}-W{iso_week:02d}"
    span = week_span(monday)
    html = report.read_text(encoding="utf-8")
    message = EmailMessage()
    # Short enough (75 characters at most) that the header is not folded.
    message["Subject"] = f"Rapport weekly report {week_label}: {span}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message.set_content(
        f"The Rapport relationship report of ISO week {week_label}, {span}.\n\n"
        "Your mail reader shows it if it shows HTML; otherwise open the attached file "
        f"{report.name} in a browser (it needs no network).\n"
    )
    message.add_alternative(html, subtype="html")
    message.add_attachment(html.encode("utf-8"), maintype="text", subtype="html", filename=report.name)
    return message


def email_report(settings: Settings, report: Path) -> Delivery:
    """Email ``report`` to ``settings.report_recipients`` through the connection
    ``settings.report_email_connection``; return what was sent.

    Call it only with recipients. Raises ``DeliveryError`` in one line naming the
    connection and its server when the connection is missing, the server cannot
    be reached, refuses the login, the sender or the recipients.
    """
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    if not report.is_file():
        raise DeliveryError(f"{report}: no such report file to email")
    recipients = settings.report_recipients
    connection_id = settings.report_email_connection
    hook = SmtpHook(smtp_conn_id=connection_id)
    try:
        connection = hook.get_connection(connection_id)
    except Exception as error:  # AirflowNotFoundException, or a malformed AIRFLOW_CONN_ variable
        variable = f"AIRFLOW_CONN_{connection_id.upper()}"
        # Only "isn't defined" is quoted: a parser's message could hold the variable's URI, password and all.
        found = type(error).__name__ == "AirflowNotFoundException"
        raise DeliveryError(
            f"{report}: written, not emailed: no Airflow connection {connection_id!r} "
            f"(add it in Airflow, or set {variable}): {_one_line(error) if found else type(error).__name__}"
        ) from None
    server = f"{connection.host or '?'}:{connection.port or 'default port'}"
    where = f"the Airflow connection {connection_id!r} (SMTP server {server})"
    sender = settings.report_email_from or hook_sender(connection.extra_dejson)
    if not sender:
        raise DeliveryError(
            f"{report}: written, not emailed: no sender: set RAPPORT_REPORT_EMAIL_FROM or the "
            f"from_email extra of {where}"
        )
    message = report_message(report, recipients, sender)
    try:
        hook.get_conn()  # connects, starts TLS and logs in as the connection says
        client = hook._smtp_client  # the hook builds no message with a text part: it sends ours
        if not isinstance(client, smtplib.SMTP):
            raise DeliveryError(f"{report}: written, not emailed: {where} gave no SMTP client")
        client.send_message(message, from_addr=sender, to_addrs=list(recipients))
        with contextlib.suppress(smtplib.SMTPException, OSError):  # sent: a failed goodbye changes nothing
            client.quit()
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryError(
            f"{report}: written, not emailed: {where} refused the login of {connection.login!r}: "
            f"{_smtp_reply(error.smtp_code, error.smtp_error)}"
        ) from None
    except smtplib.SMTPRecipientsRefused as error:
        refused = "; ".join(
            f"{address} ({_smtp_reply(code, reply)})" for address, (code, reply) in error.recipients.items()
        )
        raise DeliveryError(f"{report}: written, not emailed: {where} refused {refused}") from None
    except smtplib.SMTPResponseException as error:
        answer = _smtp_reply(error.smtp_code, error.smtp_error)
        raise DeliveryError(f"{report}: written, not emailed: {where} answered {answer}") from None
    except DeliveryError:
        raise
    except Exception as error:  # OSError (refused, timed out, TLS), SMTPException, AirflowException
        raise DeliveryError(
            f"{report}: written, not emailed: {where} could not be used: "
            f"{type(error).__name__}: {_one_line(error)}"
        ) from None
    finally:
        if isinstance(hook._smtp_client, smtplib.SMTP):
            hook._smtp_client.close()  # after a refused login, too
    week = report_week(report).isocalendar()
    delivery = Delivery(report, f"{week.year}-W{week.week:02d}", len(recipients))
    log.info(
        "emailed %s (week %s) to %d recipient(s) through %s",
        report.name,
        delivery.week_label,
        delivery.recipients,
        where,
    )
    return delivery


def hook_sender(extra: dict[str, object]) -> str:
    """The ``from_email`` extra of an SMTP connection, or an empty string."""
    sender = extra.get("from_email")
    return sender.strip() if isinstance(sender, str) else ""


def _smtp_reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {_one_line(text)}"


def _one_line(error: object) -> str:
    return " ".join(str(error).split())
