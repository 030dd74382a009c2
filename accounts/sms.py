"""Text messages (短信): one pluggable sender, chosen by ``SMS_BACKEND``.

``console`` (the default) writes the message to the log — the phone masked at INFO level, the full number only
at DEBUG — so nothing requires an SMS provider. Any other value is a dotted path ``package.module.Class``; the
class is built with the app's config (``Class(config)``) and must have ``send(phone, text)``. A provider that
fails raises; callers treat sending as best effort and say so."""
from __future__ import annotations

import logging
from importlib import import_module

from flask import current_app

logger = logging.getLogger("ops.sms")


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


class ConsoleSender:
    def __init__(self, config=None):
        self.config = config

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(phone), text)
        logger.debug("SMS full number: %s", phone)


def sender():
    """The configured sender (built once per app)."""
    sender_ = current_app.extensions.get("sms_sender")
    if sender_ is None:
        name = current_app.config.get("SMS_BACKEND") or "console"
        if name == "console":
            sender_ = ConsoleSender(current_app.config)
        else:
            module, _, cls = name.rpartition(".")
            sender_ = getattr(import_module(module), cls)(current_app.config)
        current_app.extensions["sms_sender"] = sender_
    return sender_


def provider_configured() -> bool:
    """A real provider is configured (messages reach phones, not only the log)."""
    return (current_app.config.get("SMS_BACKEND") or "console") != "console"


def send_sms(phone: str, text: str) -> bool:
    """Send ``text`` to ``phone``; False (logged) when the provider failed."""
    try:
        sender().send(phone, text)
    except Exception:  # a provider's outage must not fail the organizer's request
        logger.exception("SMS to %s failed", mask_phone(phone))
        return False
    return True
