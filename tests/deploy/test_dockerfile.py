"""The Dockerfile, read as text (no Docker here): what it runs, as whom, from which files.

It cannot be built on these machines, so each instruction that matters is checked against the
project: the entry point is the console script, the user is the one the Deployment expects,
every COPY source exists and is not excluded by .dockerignore, the final stage has no
compiler, and the dependency layer is built from pyproject.toml before the sources arrive.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser
from tests.paths import MANIFESTS, PROJECT

DOCKERFILE = PROJECT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, argument = pending.partition(" ")
        instructions.append(Instruction(keyword.upper(), argument.strip()))
        pending = ""
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(instructions: list[Instruction]) -> list[Instruction]:
    return stages(instructions)[-1]


def values(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.argument for i in stage if i.keyword == keyword]


def deployment_container() -> dict[str, object]:
    deployment = yaml.safe_load((MANIFESTS / "deployment.yaml").read_text())
    return dict(deployment["spec"]["template"]["spec"])


def test_the_final_image_is_python_3_11_slim(instructions: list[Instruction]) -> None:
    args = dict(a.split("=", 1) for a in values(instructions, "ARG") if "=" in a)
    images = [a.split()[0] for a in values(instructions, "FROM")]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image) for image in images]

    assert len(resolved) >= 2, "multi-stage: build, then a clean final stage"
    assert resolved[-1] == "python:3.11-slim"
    assert len(set(resolved)) == 1, "the venv is copied across: both stages need the same Python"


def test_the_entry_point_is_the_console_script_and_the_command_is_serve(
    final: list[Instruction],
) -> None:
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    (entrypoint,) = values(final, "ENTRYPOINT")
    (command,) = values(final, "CMD")

    assert json.loads(entrypoint) == ["dynamote"]
    assert pyproject["project"]["scripts"]["dynamote"] == "bot.cli:main"
    assert json.loads(command) == ["serve"]
    assert build_parser().parse_args(["serve"]).command == "serve"


def test_the_user_is_numeric_non_root_and_the_one_the_deployment_runs_as(
    final: list[Instruction],
) -> None:
    (user,) = values(final, "USER")
    uid, _, gid = user.partition(":")
    pod = deployment_container()["securityContext"]

    assert uid.isdigit() and int(uid) > 0
    assert not gid or (gid.isdigit() and int(gid) > 0)
    assert pod == pod | {"runAsUser": int(uid), "runAsNonRoot": True}  # type: ignore[operator]


def copy_sources(instructions: list[Instruction]) -> list[str]:
    sources = []
    for instruction in instructions:
        if instruction.keyword != "COPY":
            continue
        words = shlex.split(instruction.argument)
        if any(word.startswith("--from") for word in words):
            continue
        sources += [w for w in words[:-1] if not w.startswith("--")]
    return sources


def test_every_copy_source_exists_and_is_not_dockerignored(
    instructions: list[Instruction],
) -> None:
    ignored = [
        line.strip()
        for line in (PROJECT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = copy_sources(instructions)

    assert sources
    for source in sources:
        assert (PROJECT / source).exists(), f"COPY {source}: not in the repository"
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


def test_the_final_stage_installs_no_compiler_and_copies_only_the_built_venv(
    final: list[Instruction],
) -> None:
    runs = " ".join(values(final, "RUN"))

    assert not re.search(r"\b(apt-get|apk|yum|dnf)\b.*\binstall\b", runs)
    assert not re.search(r"\b(gcc|g\+\+|clang|build-essential|make)\b", runs)
    assert all("--from=build" in c for c in values(final, "COPY"))


def test_it_listens_on_all_interfaces_on_the_exposed_port_and_checks_healthz(
    final: list[Instruction],
) -> None:
    env = " ".join(values(final, "ENV"))
    (healthcheck,) = values(final, "HEALTHCHECK")
    ports = deployment_container()["containers"][0]["ports"]  # type: ignore[index]

    assert "DYNAMOTE_BIND_HOST=0.0.0.0" in env
    assert "DYNAMOTE_HEALTH_PORT=8080" in env
    assert values(final, "EXPOSE") == ["3000 8080"]
    assert "http://127.0.0.1:8080/healthz" in healthcheck
    assert [p["containerPort"] for p in ports] == [3000, 8080]


def test_dependencies_are_installed_from_pyproject_before_the_sources_are_copied(
    instructions: list[Instruction],
) -> None:
    build = stages(instructions)[0]
    order = [(i.keyword, i.argument) for i in build]
    copies = [n for n, (k, a) in enumerate(order) if k == "COPY"]
    deps = next(n for n, (k, a) in enumerate(order) if k == "RUN" and "requirements.txt" in a)
    wheel = next(n for n, (k, a) in enumerate(order) if k == "RUN" and "pip wheel" in a)

    assert order[copies[0]][1].split()[0] == "pyproject.toml"
    assert copies[0] < deps < copies[1], "only pyproject.toml may be copied before dependencies"
    assert max(copies) < wheel
    assert re.search(r"pip wheel .*--no-deps.* \.( |$)", order[wheel][1])


def test_the_dependency_command_lists_exactly_pyprojects_dependencies(
    instructions: list[Instruction], tmp_path: Path
) -> None:
    run = next(i.argument for i in instructions if "requirements.txt" in i.argument)
    words = shlex.split(run.split(">", 1)[0])
    script = words[words.index("-c") + 1]
    (tmp_path / "pyproject.toml").write_bytes((PROJECT / "pyproject.toml").read_bytes())

    listed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()

    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    assert listed == pyproject["project"]["dependencies"]


def test_the_wheel_carries_the_catalog_the_image_copies_in(
    instructions: list[Instruction],
) -> None:
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    included = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]

    assert included["catalog/models.json"] == "bot/data/models.json"
    assert "catalog" in copy_sources(instructions)
    assert "README.md" in copy_sources(instructions)  # pyproject's readme: metadata needs it
