"""Sending a reply over SMTP, with the phase an error happened in.

:func:`send` talks SMTP step by step instead of ``smtplib.send_message``, because what
matters after a failure is whether the server may have the message:

- anything before the final ``.`` of DATA was written (DNS, refused, TLS, login,
  a timeout, a refused sender or recipient) → the reply was certainly not sent:
  :class:`MailUnreachable`, :class:`MailAuthFailed`, :class:`RecipientRefused`,
  :class:`MailServerError`;
- the connection ending or timing out after the final ``.`` → :class:`SendUncertain`:
  the server may have accepted it; the caller looks for its Message-ID in Sent
  (:meth:`ImapSource.find_message_id`) before any retry, so it is never sent twice.

TLS is verified (default context unless the caller passes one); ``Security.PLAIN`` only
to a loopback host.  Nothing is logged here: the errors' ``detail`` (phase and exception
type) is what the caller may log.
"""

from __future__ import annotations

import contextlib
import copy
import email.utils
import io
import re
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from typing import NoReturn

from app.mail.models import MailAccount, Security
from app.mail.transport import (
    MailAuthFailed,
    MailCertificateRejected,
    MailServerError,
    MailUnreachable,
    RecipientRefused,
    SendUncertain,
    bare_message_id,
    detail,
    require_safe,
)

# Reply prefixes mail programs put before a subject (English, German, Nordic, Dutch,
# Italian, Turkish); one "Re: " replaces any run of them.
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw|r|rif|ynt)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_EOL = re.compile(rb"\r\n|\r|\n")
_DOT = re.compile(rb"(?m)^\.")


def reply_subject(original: str) -> str:
    """``Re: <original>`` with no doubled prefix (``Re: Re: x`` / ``AW: x`` → ``Re: x``)."""
    text = " ".join(original.split())
    return "Re: " + _REPLY_PREFIX.sub("", text, count=1)


def make_message_id(from_address: str) -> str:
    """A new Message-ID (without <>) on the seller's domain."""
    domain = from_address.rpartition("@")[2] or "localhost"
    return bare_message_id(email.utils.make_msgid(domain=domain))


def build_reply(
    *,
    account: MailAccount,
    to: str,
    subject: str,
    body: str,
    in_reply_to: str | None,
    references: Sequence[str],
    message_id: str,
    date: datetime,
) -> EmailMessage:
    """The seller's reply: From the store's address, To the relay alias, ``Re:`` subject,
    ``In-Reply-To`` / ``References`` threading it, ``message_id`` (with or without <>;
    see :func:`make_message_id`), text/plain UTF-8."""
    msg = EmailMessage()
    msg["From"] = account.from_address
    msg["To"] = to
    msg["Subject"] = reply_subject(subject)
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = f"<{bare_message_id(message_id)}>"
    chain = [bare_message_id(r) for r in references if bare_message_id(r)]
    if in_reply_to and bare_message_id(in_reply_to):
        parent = bare_message_id(in_reply_to)
        msg["In-Reply-To"] = f"<{parent}>"
        if not chain or chain[-1] != parent:
            chain.append(parent)
    if chain:
        msg["References"] = " ".join(f"<{r}>" for r in chain)
    msg["MIME-Version"] = "1.0"
    msg.set_content(body, subtype="plain", charset="utf-8")
    return msg


def send(
    account: MailAccount,
    password: str | None,
    message: EmailMessage,
    *,
    timeout: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Send ``message`` From ``account.from_address`` to its To/Cc/Bcc recipients.

    Raises :class:`MailUnreachable`, :class:`MailAuthFailed`, :class:`RecipientRefused`,
    :class:`MailServerError` (all: not sent) or :class:`SendUncertain` (may be sent).
    """
    host, port, security = _server(account)
    require_safe(host, security)
    context = ssl_context or ssl.create_default_context()
    del message["From"]
    message["From"] = account.from_address
    recipients = [a for _n, a in email.utils.getaddresses(_all(message, "To", "Cc", "Bcc")) if a]
    if not recipients:
        raise RecipientRefused(
            "The reply has no recipient address, so it was not sent.", detail="no recipients"
        )
    data = _wire_bytes(message)

    smtp = _open(account, password, host, port, security, timeout, context)
    phase = "smtp mail from"
    try:
        code, _ = smtp.mail(account.from_address)
        if code != 250:
            raise MailServerError(
                "The mail server refused the store's sender address, so the reply was not "
                "sent. Check the From address and SMTP user in the store's mailbox settings.",
                detail=f"{phase}: {code}",
            )
        phase = "smtp rcpt to"
        for rcpt in recipients:
            code, _ = smtp.rcpt(rcpt)
            if code not in (250, 251):
                raise RecipientRefused(detail=f"{phase}: {code}")
        phase = "smtp data"
        code, _ = smtp.docmd("DATA")
        if code != 354:
            raise MailServerError(detail=f"{phase}: {code}")
        smtp.send(data)
        phase = "smtp end of data"  # from here on the server may have the message
        smtp.send(b".\r\n")
        code, _ = smtp.getreply()
        if code != 250:
            raise MailServerError(
                "The mail server refused the reply, so it was not sent. It is kept as a "
                "draft; try again later.",
                detail=f"{phase}: {code}",
            )
    except (MailAuthFailed, MailServerError, MailUnreachable, RecipientRefused):
        _close(smtp)
        raise
    except (OSError, smtplib.SMTPException) as exc:
        _close(smtp)
        if phase == "smtp end of data":
            raise SendUncertain(detail=detail(phase, exc)) from None
        _raise_unreachable(phase, exc)
    # Accepted: a failure to say goodbye changes nothing.
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        _close(smtp)


def check(
    account: MailAccount,
    password: str | None,
    *,
    timeout: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Connect, secure and sign in to the account's SMTP server, then say goodbye: what
    "Test connection" checks of the outgoing side.  Sends nothing.  Raises as
    :func:`send` does before a message is handed over."""
    host, port, security = _server(account)
    require_safe(host, security)
    smtp = _open(
        account,
        password,
        host,
        port,
        security,
        timeout,
        ssl_context or ssl.create_default_context(),
    )
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        _close(smtp)


def _open(
    account: MailAccount,
    password: str | None,
    host: str,
    port: int,
    security: Security,
    timeout: float,
    context: ssl.SSLContext,
) -> smtplib.SMTP:
    """A connected, secured and signed-in SMTP session (nothing handed over yet)."""
    phase = "smtp connect"
    smtp: smtplib.SMTP | None = None
    try:
        if security is Security.TLS:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        phase = "smtp ehlo"
        smtp.ehlo()
        if security is Security.STARTTLS:
            phase = "smtp starttls"
            if not smtp.has_extn("starttls"):
                raise MailUnreachable(
                    "The mail server does not offer an encrypted connection (STARTTLS) on "
                    "this port. Choose TLS, or the port your provider names for STARTTLS.",
                    detail="smtp: no STARTTLS",
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if password:
            phase = "smtp login"
            user = account.smtp_user or account.imap_user or account.from_address
            try:
                smtp.login(user, password)
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
                raise MailAuthFailed(detail=detail(phase, exc)) from None
            except smtplib.SMTPException as exc:
                if isinstance(exc, smtplib.SMTPServerDisconnected):
                    raise
                raise MailAuthFailed(detail=detail(phase, exc)) from None
        return smtp
    except (MailAuthFailed, MailUnreachable):
        _close(smtp)
        raise
    except (OSError, smtplib.SMTPException) as exc:
        _close(smtp)
        _raise_unreachable(phase, exc)


def _server(account: MailAccount) -> tuple[str, int, Security]:
    if not account.smtp_host or account.smtp_security is None:
        raise MailServerError(
            "This store's mailbox has no SMTP server set, so replies cannot be sent. Add it "
            "in the store's mailbox settings.",
            detail="smtp host or security missing",
        )
    security = account.smtp_security
    default = {Security.TLS: 465, Security.STARTTLS: 587, Security.PLAIN: 25}[security]
    return account.smtp_host, account.smtp_port or default, security


def _raise_unreachable(phase: str, exc: BaseException) -> NoReturn:
    if isinstance(exc, ssl.SSLCertVerificationError):
        raise MailCertificateRejected(detail=detail(phase, exc)) from None
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(
        exc, smtplib.SMTPServerDisconnected
    ):
        raise MailServerError(detail=f"{phase}: {exc.smtp_code}") from None
    raise MailUnreachable(detail=detail(phase, exc)) from None


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()


def _all(message: EmailMessage, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        found += [str(v) for v in message.get_all(name, [])]
    return found


def _wire_bytes(message: EmailMessage) -> bytes:
    """The message as sent in DATA: CRLF lines, leading dots doubled, no Bcc, ending
    with CRLF (the caller writes the final ``.``)."""
    out = io.BytesIO()
    sent = _without_bcc(message) if message.get_all("Bcc") else message
    BytesGenerator(out, policy=policy.SMTP).flatten(sent, linesep="\r\n")
    data = _EOL.sub(b"\r\n", out.getvalue())
    data = _DOT.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def _without_bcc(message: EmailMessage) -> EmailMessage:
    clone = copy.copy(message)
    del clone["Bcc"]
    return clone
