"""Build the wheel, install it with only its runtime dependencies, and run the product there.

    python3 .ci/check_wheel.py

What it checks: the wheel holds the package ``bot`` and its metadata, nothing else and no test
aid; in a fresh virtualenv with the wheel and its runtime dependencies (no dev extras), every
module of the package imports, none imports a dev dependency (read from the source, imports
inside functions too), and ``dynamote render``, ``dynamote sim``, ``dynamote serve
--simulate --http`` and ``dynamote playground`` run: render prints a DGD, sim writes its
kubeconfig, serve answers /healthz and /readyz, playground serves its page and scripts, and the
last three stop with exit 0 on SIGTERM.

It is a CI step rather than a test because it installs from the package registry (tests talk
to 127.0.0.1 only) and a fresh virtualenv takes a minute. The same file runs twice: outside
(build, install) and then, with ``--inside``, in the new virtualenv's Python.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import os
import pkgutil
import re
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Modules that exist only for tests; the wheel must not carry them.
TEST_AIDS = ("slack_socket", "slack_requests", "conftest", "tests/")
WAIT = 60.0  # seconds for a process to be ready or to stop (slow CI machines)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(specs: list[str]) -> set[str]:
    return {_normalized(re.split(r"[\s<>=!~;\[(]", spec, maxsplit=1)[0]) for spec in specs}


def _dev_only() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    return _names(project["optional-dependencies"]["dev"]) - _names(project["dependencies"])


def _run(*args: str | Path, **kwargs: object) -> None:
    print("+", " ".join(map(str, args)), flush=True)
    subprocess.run([str(arg) for arg in args], check=True, **kwargs)  # type: ignore[call-overload]


def outside() -> int:
    with tempfile.TemporaryDirectory(prefix="dynamote-wheel-") as folder:
        work = Path(folder)
        _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work, ROOT)
        (wheel,) = work.glob("dynamote-*.whl")
        _check_contents(wheel)
        venv = work / "venv"
        _run(sys.executable, "-m", "venv", venv)
        python = venv / "bin" / "python"
        _run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        _run(python, "-m", "pip", "install", "--quiet", wheel)
        # Run from the temporary folder so the checkout's bot/ and tests/ cannot be imported.
        dev_only = ",".join(sorted(_dev_only()))
        _run(python, Path(__file__).resolve(), "--inside", dev_only, cwd=work)
    print("wheel check passed", flush=True)
    return 0


def _check_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    strays = [n for n in names if not n.startswith(("bot/", "dynamote-"))]
    aids = [n for n in names if any(aid in n for aid in TEST_AIDS)]
    assert not strays, f"the wheel holds files outside the package: {strays}"
    assert not aids, f"the wheel holds test aids: {aids}"
    assert "bot/cli.py" in names and "bot/data/models.json" in names, names
    print(f"{wheel.name}: {len(names)} files, all under bot/ or its metadata", flush=True)


def inside(dev_only: set[str]) -> int:
    import bot  # noqa: PLC0415  (the installed wheel's, not the checkout's)

    package = Path(bot.__file__).parent
    assert "site-packages" in package.parts, f"bot imported from {package}, not from the wheel"
    present = {_normalized(d.metadata["Name"]) for d in importlib.metadata.distributions()}
    assert not present & dev_only, f"dev dependencies installed: {present & dev_only}"
    _import_everything(package, dev_only)
    _check_render()
    _check_sim()
    _check_serve()
    _check_playground()
    return 0


def _import_everything(package: Path, dev_only: set[str]) -> None:
    offending: list[str] = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if {_normalized(n.split(".")[0]) for n in names} & (dev_only | {"tests"}):
                offending.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    assert not offending, f"modules import dev dependencies: {offending}"
    modules = [m.name for m in pkgutil.walk_packages([str(package)], prefix="bot.")]
    for module in modules:
        importlib.import_module(module)
    print(f"all {len(modules)} modules import without the dev dependencies", flush=True)


def _dynamote() -> str:
    return str(Path(sys.executable).parent / "dynamote")


def _environment(**extra: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DYNAMOTE_"))}
    return kept | {"DYNAMOTE_BIND_HOST": "127.0.0.1"} | extra


def _check_render() -> None:
    result = subprocess.run(
        [_dynamote(), "render", "Qwen/Qwen3-0.6B"],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "kind: DynamoGraphDeployment" in result.stdout, result.stdout
    print("dynamote render: a DynamoGraphDeployment", flush=True)


def _wait_for(what: str, ready: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not ready():
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"exited {process.returncode} before {what}:\n{err[-3000:]}")
        assert time.monotonic() < deadline, f"no {what} after {WAIT}s"
        time.sleep(0.1)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
    out, err = process.communicate()
    assert code == 0, f"exit {code} on SIGTERM:\n{err[-3000:]}"
    return out


def _check_sim() -> None:
    with tempfile.TemporaryDirectory() as folder:
        kubeconfig = Path(folder) / "kubeconfig"
        process = subprocess.Popen(
            [_dynamote(), "sim", "--kubeconfig", str(kubeconfig)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(),
        )
        try:
            _wait_for("kubeconfig", kubeconfig.exists, process)
            server = re.search(r"server: (\S+)", kubeconfig.read_text())
            assert server, kubeconfig.read_text()
            assert _status(f"{server.group(1)}/readyz") == 200
        finally:
            out = _stop(process)
    assert "stand-in stopped" in out, out
    print("dynamote sim: kubeconfig written, API answers, stops on SIGTERM", flush=True)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (127.0.0.1)
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _check_serve() -> None:
    # Slack is the Web API stand-in the wheel ships; the bot reaches it over 127.0.0.1.
    from bot.sim.slack.web_api import SlackStandIn  # noqa: PLC0415

    with SlackStandIn() as slack, tempfile.TemporaryDirectory() as folder:
        port = _free_port()
        process = subprocess.Popen(
            [_dynamote(), "serve", "--simulate", "--http", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(
                SLACK_BOT_TOKEN=slack.token,
                SLACK_SIGNING_SECRET="wheel-check-signing-secret",  # noqa: S106 (made up)
                SLACK_API_URL=slack.url,
                DYNAMOTE_SIM_KUBECONFIG=str(Path(folder) / "kubeconfig"),
            ),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for("/healthz", lambda: _status(f"{base}/healthz") == 200, process)
            _wait_for("/readyz", lambda: _status(f"{base}/readyz") == 200, process)
        finally:
            _stop(process)
    print("dynamote serve --simulate --http: /healthz and /readyz 200, stops on SIGTERM")


def _check_playground() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [_dynamote(), "playground", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    base = f"http://127.0.0.1:{port}"
    try:  # the page and its scripts come from the wheel's bot/playground/static
        _wait_for("the page", lambda: _status(f"{base}/") == 200, process)
        for name in ("app.js", "blockkit.js", "style.css"):
            assert _status(f"{base}/static/{name}") == 200, name
    finally:
        _stop(process)
    print("dynamote playground: page and scripts served, stops on SIGTERM", flush=True)


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inside"]:
        sys.exit(inside(set(filter(None, sys.argv[2].split(",")))))
    sys.exit(outside())
