"""A waitress server that closes a connection whose request takes too long to arrive.

Why: waitress's ``channel_timeout`` closes only connections that sent nothing for that long, so
a client that trickles one header byte every few seconds keeps its connection for ever, and
enough of them fill the connection limit (then nobody else is accepted). Slack sends each
request in one go and gives up on the answer after 3 s, so a request still arriving after a few
seconds is not one Slack is waiting for. Each connection records when the request it is
receiving began; the server's periodic maintenance (every ``cleanup_interval`` seconds) closes
those past the deadline, and tells ``on_overdue`` how many it closed.

Imported only by :func:`bot.server.wsgi.serve_http`, so that waitress loads only to serve.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

__all__ = ["DeadlineServer"]


class _DeadlineChannel(HTTPChannel):  # type: ignore[misc]  # waitress ships no type hints
    """An HTTP connection that knows since when its current request has been due.

    The first request is due from the connect (a client that connects and says nothing is
    as slow as one that trickles); each later one from its first byte, so an idle keep-alive
    connection is left to waitress's ``channel_timeout``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.request_started: float | None = time.monotonic()
        super().__init__(*args, **kwargs)

    def received(self, data: bytes) -> bool:
        # Runs on the server's event loop only, as does maintenance: no lock needed.
        if self.request_started is None and data:
            self.request_started = time.monotonic()
        accepted = bool(super().received(data))
        if self.request is None:  # the request is complete: nothing is arriving now
            self.request_started = None
        return accepted


class DeadlineServer(TcpWSGIServer):  # type: ignore[misc]
    """waitress's TCP server whose maintenance also closes overdue requests' connections.

    Arguments are TcpWSGIServer's (``adj``, ``dispatcher``, ``map``...) plus the deadline.
    """

    channel_class = _DeadlineChannel

    def __init__(
        self,
        application: Any,
        *,
        request_deadline: float,
        on_overdue: Callable[[int], None],
        **kwargs: Any,
    ) -> None:
        self.request_deadline = request_deadline
        self._on_overdue = on_overdue
        super().__init__(application, **kwargs)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # closes connections idle for channel_timeout
        cutoff = time.monotonic() - self.request_deadline
        overdue = 0
        for channel in self.active_channels.values():
            started = getattr(channel, "request_started", None)
            # channel.requests holds complete requests being answered: never cut those.
            late = started is not None and started < cutoff and not channel.requests
            if late and not channel.will_close:
                channel.will_close = True  # the loop closes it on its next pass
                overdue += 1
        if overdue:
            self._on_overdue(overdue)
