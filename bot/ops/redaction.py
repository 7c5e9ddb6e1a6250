"""One redactor for everything that leaves the process: log records and Slack text.

Cluster text (pod log tails, event and condition messages, API errors) can hold whatever a
worker printed, tokens included, and Slack channels are read by many. So every such text goes
through :func:`redact` where it enters a message (``bot.domain.status``,
``bot.blocks.notifications``), and every log record through ``bot.ops.logs.RedactingFilter``, which
uses the same function.

Replaced: capability URLs (Slack's ``response_url``s, webhooks, credential query
parameters), Slack tokens (``xox?-…``, ``xapp-…``), bearer tokens, JWTs (service
account tokens), Hugging Face tokens (``hf_…``), GitHub, AWS, Google and OpenAI-style keys,
PEM private keys, and the value of anything written like ``HF_TOKEN=…``, ``*_TOKEN=…``,
``PASSWORD=…``, ``SECRET=…``, ``API_KEY=…`` (``=`` or ``:``, quoted or not); plus given
secret values by value (the Slack signing secret has no recognisable shape). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "redact"]

REDACTED = "[REDACTED]"
# Literal secrets shorter than this are not replaced: "abc" would blank out ordinary words.
MIN_SECRET_LENGTH = 6

# The end of a name that says its value is a secret: HF_TOKEN, SLACK_BOT_TOKEN, DB_PASSWORD,
# api-key, client_secret... Plural "tokens" (max_num_batched_tokens) and "tokenizer" are not.
_SECRET_WORD = (
    r"(?:token|secret|passwd|password|api[_-]?key|access[_-]?key"  # noqa: S105
    r"|private[_-]?key|credentials?)"
)

# A slash in a URL as logged: plain, JSON-escaped, or percent-encoded.
_SLASH = r"(?:/|\\/|%2[Ff])"
# A URL value up to where it ends in plain text, JSON or a form (", ', &, or their escapes).
_URL_VALUE = r"(?:(?!%2[2Cc]|%26|%27|\\\")[^\s\"'&,<>])+"
_CAPABILITY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack's response_urls, incoming webhooks and workflow triggers: the path is the secret.
    (
        re.compile(rf"(?i)(hooks\.slack(?:-gov)?\.com)(?:{_SLASH}[A-Za-z0-9_-]+)+"),
        r"\1/" + REDACTED,
    ),
    (
        re.compile(
            rf"{_SLASH}(commands|actions|services|triggers|workflows){_SLASH}T[A-Z0-9]+"
            rf"(?:{_SLASH}[A-Za-z0-9_-]+)+"
        ),
        r"/\1/" + REDACTED,
    ),
    # Whatever URL is given as a response_url (any host: Slack's, a proxy's, a stand-in's).
    (
        re.compile(
            rf"(?i)(response_urls?(?:[\"'\s:=+\[{{]|\\\"|%22|%3A|%3D|%5B|%7B)*)https?{_URL_VALUE}"
        ),
        r"\1" + REDACTED,
    ),
    # Query parameters that carry a credential: signed links, OAuth codes, API keys.
    (
        re.compile(
            r"(?i)((?:[?&]|%3F|%26)(?:access_token|refresh_token|id_token|token|code|sig|"
            r"signature|x-amz-signature|x-amz-credential|x-amz-security-token|api_key|apikey|"
            r"key|client_secret|secret|password)(?:=|%3D))" + _URL_VALUE
        ),
        r"\1" + REDACTED,
    ),
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    *_CAPABILITY_PATTERNS,
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        REDACTED,
    ),
    (re.compile(r"xox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+"), REDACTED),  # Slack bot/user/refresh
    (re.compile(r"xapp-[A-Za-z0-9-]+"), REDACTED),  # Slack app-level token
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), REDACTED),  # JWT
    (
        re.compile(rf"""(?i)({_SECRET_WORD}["']?\s*[=:]\s*["']?)[^\s"',;}}]+"""),
        r"\1" + REDACTED,
    ),
    (re.compile(rf"(?i)(--[A-Za-z0-9_.-]*{_SECRET_WORD}\s+)[^\s-]\S*"), r"\1" + REDACTED),
    (re.compile(r"\bhf_[A-Za-z0-9]{20,}"), REDACTED),  # Hugging Face access token
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"), REDACTED),  # GitHub token
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}"), REDACTED),  # GitHub fine-grained token
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),  # AWS access key id
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), REDACTED),  # Google API key
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), REDACTED),  # OpenAI-style secret key
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every given secret value and every token-shaped string replaced."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
