"""Trying a running model from Slack: the prompt's bounds, the answer's figures, the stream's
lines, and who may try how often. Pure: no I/O (the clock is passed in).

A deployment's frontend speaks OpenAI's chat completions API. Streamed (``"stream": true``),
it answers with server-sent events: lines ``data: {json}`` whose ``choices[0].delta.content``
carries the next piece of text, a last chunk with ``usage`` when the request asked for
``stream_options.include_usage``, then ``data: [DONE]``. :func:`read_event` reads one line;
:class:`Figures` turns when the pieces arrived into time to first token, total time and
tokens per second.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_PROMPT",
    "MAX_PROMPT_CHARS",
    "MAX_TOKENS_LIMIT",
    "Figures",
    "StreamEvent",
    "TryLimiter",
    "UpdateBudget",
    "chat_request",
    "check_max_tokens",
    "check_prompt",
    "read_event",
]

DEFAULT_PROMPT = "In two sentences, who are you and what are you good at?"
DEFAULT_MAX_TOKENS = 128
MAX_TOKENS_LIMIT = 512  # the answer must fit one modal section and stay quick
MAX_PROMPT_CHARS = 1000  # shared in the thread with its answer; a modal input allows 3000


def check_prompt(text: str | None) -> tuple[str, str | None]:
    """The prompt to send and the problem with it (None when fine)."""
    prompt = (text or "").strip()
    if not prompt:
        return "", "Type a prompt to send to the model."
    if len(prompt) > MAX_PROMPT_CHARS:
        return prompt, f"Keep the prompt under {MAX_PROMPT_CHARS} characters ({len(prompt)} now)."
    return prompt, None


def check_max_tokens(text: str | None) -> tuple[int, str | None]:
    """Max tokens as typed (empty: the default) and the problem with it (None when fine)."""
    raw = (text or "").strip()
    if not raw:
        return DEFAULT_MAX_TOKENS, None
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_MAX_TOKENS, f"`{raw[:20]}` is not a whole number of tokens."
    if not 1 <= value <= MAX_TOKENS_LIMIT:
        return DEFAULT_MAX_TOKENS, f"Pick between 1 and {MAX_TOKENS_LIMIT} tokens."
    return value, None


def chat_request(model: str, prompt: str, max_tokens: int) -> dict[str, object]:
    """A streamed chat completion of one user message, with the usage chunk asked for."""
    return {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@dataclass(frozen=True)
class StreamEvent:
    """One line of the stream: text to append, the completion tokens counted, or the end."""

    text: str = ""
    completion_tokens: int | None = None
    done: bool = False
    finish_reason: str | None = None


def read_event(line: str | bytes) -> StreamEvent | None:
    """The event on one SSE line; None for blank lines, comments and other fields.

    ValueError for a ``data:`` line that is not JSON (the frontend sent something else).
    """
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.rstrip("\r\n")
    if not text.startswith("data:"):
        return None  # "", ": keep-alive", "event: ...", "id: ..."
    data = text[5:].strip()
    if data == "[DONE]":
        return StreamEvent(done=True)
    chunk = json.loads(data)
    if not isinstance(chunk, dict):
        raise ValueError("a stream chunk is not a JSON object")
    pieces: list[str] = []
    finish: str | None = None
    for choice in chunk.get("choices") or ():
        if isinstance(choice, dict):
            delta = choice.get("delta") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str):
                pieces.append(content)
            if isinstance(choice.get("finish_reason"), str):
                finish = choice["finish_reason"]
    usage = chunk.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    counted = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None
    return StreamEvent(text="".join(pieces), completion_tokens=counted, finish_reason=finish)


@dataclass
class Figures:
    """When the answer's pieces arrived, in seconds since the request was sent."""

    first_token: float | None = None
    last_token: float | None = None
    pieces: int = 0  # content chunks: one token each when the frontend sends no usage
    completion_tokens: int | None = None  # the frontend's own count, from the usage chunk

    def record(self, event: StreamEvent, at: float) -> None:
        if event.text:
            if self.first_token is None:
                self.first_token = at
            self.last_token = at
            self.pieces += 1
        if event.completion_tokens is not None:
            self.completion_tokens = event.completion_tokens

    @property
    def tokens(self) -> int:
        return self.completion_tokens if self.completion_tokens is not None else self.pieces

    def tokens_per_second(self) -> float | None:
        """Decode speed: tokens after the first over the time they took."""
        if self.first_token is None or self.last_token is None or self.tokens < 2:
            return None
        span = self.last_token - self.first_token
        return (self.tokens - 1) / span if span > 0 else None

    def summary(self, total: float) -> str:
        """``first token 0.21 s · total 1.40 s · 42 tokens · 35.2 tokens/s``."""
        parts = []
        if self.first_token is not None:
            parts.append(f"first token {self.first_token:.2f} s")
        parts.append(f"total {total:.2f} s")
        parts.append(f"{self.tokens} token{'s' if self.tokens != 1 else ''}")
        speed = self.tokens_per_second()
        if speed is not None:
            parts.append(f"{speed:.1f} tokens/s")
        return " · ".join(parts)


class TryLimiter:
    """At most ``per_minute`` tries per person in any 60 seconds (0: no limit)."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._tries: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, user: str) -> float | None:
        """Count a try for ``user``; None if allowed, else the seconds until the next one."""
        if self.per_minute <= 0:
            return None
        now = self._clock()
        with self._lock:
            tries = self._tries.setdefault(user, deque())
            while tries and now - tries[0] >= self.WINDOW:
                tries.popleft()
            if len(tries) >= self.per_minute:
                return self.WINDOW - (now - tries[0])
            tries.append(now)
            return None


class UpdateBudget:
    """A shared allowance of ``views.update`` calls for streaming answers.

    ``views.update`` is a Tier 4 method (100+ calls a minute per workspace, shared by every
    modal of the app), so all answers streaming at once draw on one bucket of ``per_minute``
    calls; an update that finds it empty is skipped (the next piece of text brings a new
    chance, and the final update always goes out).
    """

    def __init__(self, per_minute: float, clock: Callable[[], float], burst: float = 5.0):
        self._rate = per_minute / 60.0
        self._burst = burst
        self._tokens = burst
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False
