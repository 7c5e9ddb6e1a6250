"""A stand-in that runs in the background: ``with StandIn() as s`` starts it and stops it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Running"]


class Running:
    """Base of the stand-ins: ``start`` returns the started object, ``stop`` is idempotent."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
