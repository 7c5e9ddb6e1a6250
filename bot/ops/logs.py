"""Logging for the whole process, configured once at start: text or JSON lines, secrets redacted.

Why here: ``dynamote serve`` and ``dynamote doctor`` call :func:`configure_logging` first thing,
so every record (ours, Bolt's, slack_sdk's, urllib3's) goes through one handler on the root
logger. The handler carries :class:`RedactingFilter`: a filter on the handler, not on a logger,
because logger filters do not see records that propagate up from child loggers.

Each record has ``time``, ``level``, ``logger``, ``message`` and every ``extra`` field the call
passed (audit fields such as ``user`` or ``namespace``); in text mode the extras follow the
message as ``key=value``. Redacted, whatever logs it and at every level: Slack tokens
(``xox?-...``, ``xapp-...``), bearer tokens, JWTs (service account tokens), Hugging Face tokens
(``hf_...`` and anything written ``HF_TOKEN=...``), the configured Slack secrets by value (the
signing secret has no recognisable shape), and capability URLs, whose address is the secret:
Slack's ``response_url``s and incoming webhooks (``hooks.slack.com/...``, and any URL with
their ``/commands|actions|services/T.../...`` path), any value given as ``response_url``, and
token-like query parameters (``?token=``, ``&sig=``...). Each is matched as written, inside
JSON (``\\/``) and form-encoded (``%2F``), since Bolt and slack_sdk log raw bodies at DEBUG.

Text lines cannot be forged: the text formatter writes control characters (newlines, carriage
returns, escape sequences) in messages as ``\\n``, ``\\x1b``..., and indents every line of a
traceback, so a line that starts at its first column is always the start of a record. JSON
escapes them by itself.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

from bot.config.settings import Settings
from bot.ops.redaction import MIN_SECRET_LENGTH, REDACTED, redact

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "RedactingFilter",
    "TextFormatter",
    "configure_logging",
    "escape_controls",
    "redact",
]

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

_HANDLER_MARK = "_dynamote_handler"

# Characters that end a line, or move or restyle a terminal's cursor: C0, DEL, C1, and the
# Unicode line and paragraph separators (str.splitlines splits on several of them).
_CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROL_ESCAPES |= {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"}
# What JSON leaves raw (it escapes only below U+0020) but splitlines() would split on.
_JSON_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def escape_controls(text: str) -> str:
    """``text`` on one line: control characters written as escapes (``\\n``, ``\\x1b``...)."""
    return text.translate(_CONTROL_ESCAPES)


def _indented(block: str) -> str:
    """A traceback or stack below a record: each line escaped and indented."""
    return "\n".join("    " + escape_controls(line) for line in block.splitlines())


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a call passed with ``extra=``."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRIBUTES}


class RedactingFilter(logging.Filter):
    """Rewrites each record so no secret reaches a formatter: message, extras, traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._clean(record.getMessage())
        record.args = None
        for key, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, self._clean(value))
            elif not isinstance(value, int | float | bool | type(None)):
                setattr(record, key, self._clean(str(value)))
        if record.exc_info and not record.exc_text:
            # Formatted here so the traceback (exception messages included) is redacted too.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)


def _utc_time(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            document.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            document["exception"] = record.exc_text
        if record.stack_info:
            document["stack"] = record.stack_info
        return json.dumps(document, default=str, ensure_ascii=False).translate(_JSON_LINE_BREAKS)


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message> key=value ...``, traceback indented on the lines
    after; a message's control characters are escaped (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        message = escape_controls(f"{record.name}: {record.getMessage()}")
        line = f"{_utc_time(record)} {record.levelname} {message}"
        # repr() escapes control characters itself.
        extras = " ".join(f"{k}={v!r}" for k, v in extra_fields(record).items())
        if extras:
            line = f"{line} {escape_controls(extras)}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{_indented(record.exc_text)}"
        if record.stack_info:
            line = f"{line}\n{_indented(record.stack_info)}"
        return line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (as logging.lastResort does)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        """Ignored: the stream is always the current sys.stderr."""


def configure_logging(settings: Settings, *, stream: IO[str] | None = None) -> logging.Handler:
    """Install the one root handler (replacing one installed before); returns it.

    ``stream`` defaults to the process's stderr, looked up on every record.
    """
    handler: logging.Handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(_secret_values(settings)))
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)
    return handler


def _secret_values(settings: Settings) -> list[str]:
    secrets = (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret)
    return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
