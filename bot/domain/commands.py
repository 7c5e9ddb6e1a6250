"""Parse the text after ``/dynamote`` into a command. Pure: no I/O.

``help``, ``models [words] [engine]``, ``deploy [model words]``, ``list [mine|all] [-n NS]``,
``status [NAME] [-n NS]`` (no name: your latest deployment), ``delete NAME [-n NS]``,
``scale NAME REPLICAS [-n NS]``, ``cluster``. A typo gets the closest subcommand; a malformed
command raises :class:`CommandError` with the usage to fix it.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass
from typing import Literal

from bot.domain.catalog import ENGINES

__all__ = [
    "SUBCOMMANDS",
    "Cluster",
    "Command",
    "CommandError",
    "Delete",
    "Deploy",
    "Help",
    "ListDeployments",
    "Models",
    "Scale",
    "Status",
    "parse_command",
]

USAGE = {
    "help": "help",
    "models": "models [words] [vllm|sglang|trtllm]",
    "deploy": "deploy [model words]",
    "list": "list [mine|all] [-n NAMESPACE]",
    "status": "status [NAME] [-n NAMESPACE]",
    "delete": "delete NAME [-n NAMESPACE]",
    "scale": "scale NAME REPLICAS [-n NAMESPACE]",
    "cluster": "cluster",
}
SUBCOMMANDS = tuple(USAGE)
MAX_TEXT = 500  # longer input is not a command anyone typed on purpose


class CommandError(ValueError):
    """The text is not a valid command; the message says how to write it."""


@dataclass(frozen=True)
class Help:
    unknown: str | None = None
    suggestion: str | None = None


@dataclass(frozen=True)
class Models:
    words: tuple[str, ...] = ()
    engine: str | None = None
    name: Literal["models"] = "models"


@dataclass(frozen=True)
class Deploy:
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListDeployments:
    scope: Literal["mine", "all"] = "mine"
    namespace: str | None = None


@dataclass(frozen=True)
class Status:
    name: str | None  # None: the person's latest deployment
    namespace: str | None = None


@dataclass(frozen=True)
class Delete:
    name: str
    namespace: str | None = None


@dataclass(frozen=True)
class Scale:
    name: str
    replicas: int
    namespace: str | None = None


@dataclass(frozen=True)
class Cluster:
    pass


Command = Help | Models | Deploy | ListDeployments | Status | Delete | Scale | Cluster


def subcommand_of(command: Command) -> str:
    """The subcommand's name, for metrics and logs."""
    names: dict[type, str] = {
        Help: "help",
        Models: "models",
        Deploy: "deploy",
        ListDeployments: "list",
        Status: "status",
        Delete: "delete",
        Scale: "scale",
        Cluster: "cluster",
    }
    return names[type(command)]


def parse_command(text: str, *, command: str = "/dynamote") -> Command:
    """The command in ``text``; raises CommandError with usage when it is malformed."""
    if len(text) > MAX_TEXT:
        raise CommandError(
            f"that is {len(text)} characters; a command is shorter. Try `{command} help`."
        )
    words = _split(text)
    if not words:
        return Help()
    head, rest = words[0].lower(), words[1:]
    if head in ("help", "-h", "--help", "?"):
        return Help()
    if head == "models":
        return _models(rest)
    if head == "deploy":
        return Deploy(tuple(rest))
    if head == "cluster":
        _no_extra(rest, "cluster", command)
        return Cluster()
    if head == "list":
        return _list(rest, command)
    if head == "scale":
        return _scale(rest, command)
    if head == "status":
        positional, namespace = _options(rest, head, command)
        if len(positional) > 1:
            raise CommandError(_usage(head, command, "give one name"))
        return Status(positional[0] if positional else None, namespace)
    if head == "delete":
        name, namespace = _name_and_namespace(rest, head, command)
        return Delete(name, namespace)
    close = difflib.get_close_matches(head, SUBCOMMANDS, n=1, cutoff=0.5)
    return Help(unknown=words[0][:40], suggestion=close[0] if close else None)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text.replace("\u201c", '"').replace("\u201d", '"'))
    except ValueError:  # an unbalanced quote: fall back to plain words
        return text.split()


def _models(rest: list[str]) -> Models:
    engines = [w.lower() for w in rest if w.lower() in ENGINES]
    words = tuple(w for w in rest if w.lower() not in ENGINES)
    return Models(words, engines[-1] if engines else None)


def _list(rest: list[str], command: str) -> ListDeployments:
    positional, namespace = _options(rest, "list", command)
    if len(positional) > 1 or (positional and positional[0].lower() not in ("mine", "all")):
        raise CommandError(_usage("list", command, f"`{' '.join(positional)}` is not mine or all"))
    scope: Literal["mine", "all"] = (
        "all" if positional and positional[0].lower() == "all" else "mine"
    )
    return ListDeployments(scope, namespace)


def _name_and_namespace(rest: list[str], head: str, command: str) -> tuple[str, str | None]:
    positional, namespace = _options(rest, head, command)
    if len(positional) != 1:
        problem = "give the deployment's name" if not positional else "give one name"
        raise CommandError(_usage(head, command, problem))
    return positional[0], namespace


def _scale(rest: list[str], command: str) -> Scale:
    positional, namespace = _options(rest, "scale", command)
    if len(positional) != 2:
        problem = "give the deployment's name and the number of worker replicas"
        raise CommandError(_usage("scale", command, problem))
    name, count = positional
    if not (count.isascii() and count.isdigit()) or int(count) < 1:
        raise CommandError(_usage("scale", command, f"`{count[:20]}` is not a whole number >= 1"))
    return Scale(name, int(count), namespace)


def _options(rest: list[str], head: str, command: str) -> tuple[list[str], str | None]:
    positional: list[str] = []
    namespace: str | None = None
    items = iter(rest)
    for word in items:
        if word in ("-n", "--namespace"):
            namespace = next(items, None)
            if namespace is None:
                raise CommandError(_usage(head, command, f"{word} needs a namespace"))
        elif word.startswith(("-n=", "--namespace=")):
            namespace = word.split("=", 1)[1]
        elif word.startswith("-"):
            raise CommandError(_usage(head, command, f"unknown option `{word[:30]}`"))
        else:
            positional.append(word)
    return positional, namespace


def _no_extra(rest: list[str], head: str, command: str) -> None:
    if rest:
        raise CommandError(_usage(head, command, f"`{head}` takes no arguments"))


def _usage(head: str, command: str, problem: str) -> str:
    return f"{problem}. Usage: `{command} {USAGE[head]}`"
