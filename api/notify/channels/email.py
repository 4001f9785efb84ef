"""Email over SMTP, through apprise's email plugin (plain text, UTF-8, STARTTLS/SSL/none).

apprise's ``notify()`` is blocking (smtplib), so it runs on a thread pool of this channel's own,
sized to the channel's concurrency: a hanging mail server holds only these threads, never the
event loop or the threads the database calls use. apprise reports failures as log records and
a status, not exceptions; the records of this send (collected through a context variable, so
concurrent sends do not mix) become the attempt's error text.

Certificates are checked against the system's trust store (``SSL_CERT_FILE`` points Python at
a private CA); ``smtp_verify_certificate=false`` turns the check off, for a relay on a trusted
network only.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api.notify import render
from api.notify.errors import PermanentError, RetryableError
from api.notify.models import ChannelName
from api.notify.outbox import Delivery
from api.notify.settings import NotifySettings

with warnings.catch_warnings():
    # apprise's PGP helper imports the standard library's imghdr, deprecated in 3.11.
    warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
    import apprise
    import apprise.plugins.email  # the plugin (and that import) loads here, once

_SECURITY = {"starttls": "starttls", "ssl": "ssl", "none": "insecure"}
# "SMTP recipient x was refused: 550 …" (one of several) or smtplib's SMTPRecipientsRefused
# "{'x': (550, b'…')}" (all of them): a 5xx answer will not change on a retry.
_REFUSED = re.compile(r"was refused: (\d{3})|\((\d{3}), b['\"]")

_collected: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "tianqu_notify_apprise_records", default=None
)


class _CollectSendRecords(logging.Filter):
    """On apprise's logger: copies this send's records (DEBUG up) into its list.

    apprise logs the reason of a failure (the SMTP exception) at DEBUG; the logger is set to
    DEBUG so those records exist, and this filter lets only WARNING and above go on to the
    application's handlers, as before.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        sink = _collected.get()
        if sink is not None and record.levelno >= logging.DEBUG:
            sink.append(record.getMessage())
        return record.levelno >= logging.WARNING


def _install_filter() -> None:
    logger = logging.getLogger("apprise")
    if not any(isinstance(f, _CollectSendRecords) for f in logger.filters):
        logger.addFilter(_CollectSendRecords())
    logger.setLevel(logging.DEBUG)


_install_filter()


def _error_text(records: list[str]) -> str:
    useful = [
        r
        for r in records
        if "Exception" in r or "refused" in r or "failed" in r.lower() or "error" in r.lower()
    ]
    return "; ".join(useful or records or ["apprise reported a failure without a reason"])


class EmailChannel:
    name = ChannelName.EMAIL

    def __init__(self, settings: NotifySettings) -> None:
        if settings.smtp_host is None:
            raise ValueError("the email channel needs TIANQU_API_NOTIFY_SMTP_HOST")
        self._settings = settings
        self._timeout = settings.timeout_for(self.name)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.concurrency_for(self.name), thread_name_prefix="notify-email"
        )

    def _service(self, to: str) -> dict[str, Any]:
        s = self._settings
        from_addr = f"{s.smtp_from_name} <{s.smtp_from}>" if s.smtp_from_name else s.smtp_from
        service: dict[str, Any] = {
            "schema": "mailto",
            "host": s.smtp_from.split("@", 1)[1] if "@" in s.smtp_from else s.smtp_host,
            "smtp_host": s.smtp_host,
            "secure_mode": _SECURITY[s.smtp_security],
            "from_addr": from_addr,
            "targets": [to],
            "cto": self._timeout,
            "verify": s.smtp_verify_certificate,
        }
        if s.smtp_port is not None:
            service["port"] = s.smtp_port
        if s.smtp_username:
            service["user"] = s.smtp_username
            if s.smtp_password is not None:
                service["password"] = s.smtp_password.get_secret_value()
        return service

    def _send_blocking(self, delivery: Delivery) -> None:
        records: list[str] = []
        _collected.set(records)  # this runs in a copied context (see send)
        try:
            service = apprise.Apprise.instantiate(
                self._service(delivery.target), suppress_exceptions=False
            )
        except Exception as exc:  # noqa: BLE001 - apprise raises its own and TypeErrors
            raise PermanentError(f"email settings refused by apprise: {exc}") from None
        if service is None:
            raise PermanentError("email settings refused by apprise")
        sender = apprise.Apprise()
        sender.add(service)
        n = delivery.notification
        result = sender.notify(
            body=render.text(n),
            title=render.headline(n),
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self._timeout,
        )
        if result:
            return
        detail = _error_text(records)
        refused = _REFUSED.search(detail)
        code = (refused.group(1) or refused.group(2)) if refused else None
        if code is not None and code.startswith("5"):
            raise PermanentError(detail, status_code=int(code))
        raise RetryableError(detail)

    async def send(self, delivery: Delivery) -> None:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        await loop.run_in_executor(self._executor, context.run, self._send_blocking, delivery)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
