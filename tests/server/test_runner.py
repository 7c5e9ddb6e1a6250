"""bot.serve.run_serve: starts the pieces, serves health and Slack, stops cleanly.

In-process tests run the whole bot (as bot.composition builds it) against the cluster and Slack
stand-ins and stop it with the ``stop`` event; the subprocess tests run `dynamote serve` itself
and stop it with SIGTERM, as Kubernetes does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.composition import Dynamote
from bot.config.settings import Settings, get_settings, load_settings
from bot.serve import run_serve
from bot.sim.slack.web_api import SlackStandIn
from tests.waiting import wait_until

from .conftest import SIGNING_SECRET, signed_headers, slash_command_body

pytestmark = pytest.mark.runs_long  # the bot as a process

PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def answers(url: str) -> bool:
    try:
        return get(url)[0] == 200
    except OSError:
        return False


class Running:
    """run_serve in a thread until stopped."""

    def __init__(
        self,
        settings: Settings,
        *,
        http: bool = True,
        health_port: int | None = None,
    ) -> None:
        self.port = free_port()
        self.health_port = health_port
        self.stop = threading.Event()
        self.code: int | None = None
        self.built: list[Dynamote] = []  # what the composition root built, once started

        def run() -> None:
            self.code = run_serve(
                simulate=True,
                http=http,
                port=self.port,
                health_port=health_port,
                settings=settings,
                stop=self.stop,
                on_built=self.built.append,
            )

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port or self.port}"

    def finish(self) -> int | None:
        self.stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "run_serve did not return after stop"
        return self.code


def settings_for(standin: SlackStandIn, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": standin.token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": standin.url,
        "sim_ready_after": 0.1,
    }
    return load_settings(**(values | overrides))


@pytest.fixture
def running(slack_standin: SlackStandIn, sim_kubeconfig: Path) -> Iterator[Running]:
    served = Running(settings_for(slack_standin))
    yield served
    served.stop.set()
    served.thread.join(timeout=20)


def test_serve_in_http_mode_answers_health_then_becomes_ready_and_stops_with_0(
    running: Running, slack_standin: SlackStandIn, sim_kubeconfig: Path
) -> None:
    wait_until(lambda: answers(f"{running.url}/healthz"))
    wait_until(lambda: get(f"{running.url}/readyz")[0] == 200)

    assert slack_standin.calls("auth.test")[0].ok
    assert sim_kubeconfig.is_file()
    (dynamote,) = running.built
    assert dynamote.socket_mode is False
    assert dynamote.health.slack_ready
    assert running.finish() == 0


def help_command(standin: SlackStandIn) -> bytes:
    """``/dynamote help``, whose answer goes to the stand-in's response_url ``help``."""
    return slash_command_body("help", response_url=standin.response_url("help"))


def test_serve_in_http_mode_passes_signed_commands_to_the_app(
    running: Running, slack_standin: SlackStandIn
) -> None:
    wait_until(lambda: answers(f"{running.url}/healthz"))
    body = help_command(slack_standin)
    request = urllib.request.Request(
        f"{running.url}/slack/events", data=body, headers=signed_headers(body), method="POST"
    )

    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    (reply,) = slack_standin.wait_for("response_url", timeout=10)
    assert reply.path.endswith("/help")


def test_with_an_app_token_serve_uses_socket_mode_and_serves_no_slack_events(
    slack_standin: SlackStandIn, sim_kubeconfig: Path
) -> None:
    slack_standin.add_token("xapp-1-test")
    served = Running(settings_for(slack_standin, slack_app_token="xapp-1-test"), http=False)
    try:
        wait_until(lambda: answers(f"{served.url}/healthz"))
        # The stand-in has no Socket Mode: the connection attempt fails and is retried.
        slack_standin.wait_for("apps.connections.open", timeout=10)
        body = slash_command_body()
        request = urllib.request.Request(
            f"{served.url}/slack/events", data=body, headers=signed_headers(body), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 404
        (dynamote,) = served.built
        assert dynamote.socket_mode is True
    finally:
        assert served.finish() == 0


def test_with_a_health_port_health_is_served_there_and_the_events_port_has_slack_events_alone(
    slack_standin: SlackStandIn, sim_kubeconfig: Path
) -> None:
    served = Running(settings_for(slack_standin), health_port=free_port())
    try:
        wait_until(lambda: answers(f"{served.health_url}/readyz"))
        body = help_command(slack_standin)
        request = urllib.request.Request(
            f"{served.url}/slack/events", data=body, headers=signed_headers(body), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
        (reply,) = slack_standin.wait_for("response_url", timeout=10)
        assert reply.path.endswith("/help")

        assert get(f"{served.health_url}/healthz") == (200, b"ok\n")
        assert get(f"{served.health_url}/metrics")[0] == 200
        assert get(f"{served.health_url}/slack/events")[0] == 404
        for path in ("/healthz", "/readyz", "/metrics"):
            assert get(f"{served.url}{path}")[0] == 404, path
    finally:
        assert served.finish() == 0


def test_the_health_port_setting_is_used_when_no_flag_is_given(
    slack_standin: SlackStandIn, sim_kubeconfig: Path
) -> None:
    health_port = free_port()
    served = Running(settings_for(slack_standin, health_port=health_port))
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{health_port}/healthz"))
        assert get(f"{served.url}/healthz")[0] == 404
    finally:
        assert served.finish() == 0


def test_socket_mode_with_a_health_port_listens_on_the_health_port_only(
    slack_standin: SlackStandIn, sim_kubeconfig: Path
) -> None:
    slack_standin.add_token("xapp-1-test")
    settings = settings_for(slack_standin, slack_app_token="xapp-1-test")
    served = Running(settings, http=False, health_port=free_port())
    try:
        wait_until(lambda: answers(f"{served.health_url}/healthz"))
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", served.port), 2):
            pass
    finally:
        assert served.finish() == 0


def test_a_health_port_equal_to_the_port_exits_2_saying_so(
    slack_standin: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(slack_standin)

    code = run_serve(simulate=True, http=True, port=3000, health_port=3000, settings=settings)

    assert code == 2
    assert "health port (3000) must differ from --port" in capsys.readouterr().err


def test_socket_mode_exits_2_when_slack_rejects_the_app_token(
    slack_standin: SlackStandIn, sim_kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = Running(settings_for(slack_standin, slack_app_token="xapp-wrong"), http=False)

    served.thread.join(timeout=20)

    assert served.code == 2
    assert "SLACK_APP_TOKEN" in capsys.readouterr().err


def test_serve_exits_2_when_slack_rejects_the_bot_token(
    slack_standin: SlackStandIn, sim_kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = Running(settings_for(slack_standin, slack_bot_token="xoxb-wrong"))

    served.thread.join(timeout=20)

    assert served.code == 2
    assert "invalid_auth" in capsys.readouterr().err


def test_serve_exits_2_without_a_bot_token(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(slack_signing_secret=SIGNING_SECRET)

    code = run_serve(simulate=True, http=True, port=0, settings=settings)

    assert code == 2
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err


def test_http_mode_exits_2_without_a_signing_secret(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1")

    code = run_serve(simulate=True, http=True, port=0, settings=settings)

    assert code == 2
    assert "SLACK_SIGNING_SECRET" in capsys.readouterr().err


def serve_process(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def process_env(standin: SlackStandIn, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DYNAMOTE_"))}
    env |= {
        "SLACK_BOT_TOKEN": standin.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.url,
        "DYNAMOTE_BIND_HOST": "127.0.0.1",
        "DYNAMOTE_SIM_KUBECONFIG": str(tmp_path / "kubeconfig"),
        "DYNAMOTE_SIM_READY_AFTER": "0.1",
    }
    return env


def serving(process: subprocess.Popen[str], port: int) -> bool:
    if process.poll() is not None:
        _, err = process.communicate(timeout=5)
        raise AssertionError(f"exited {process.returncode} before serving:\n{err[-3000:]}")
    return answers(f"http://127.0.0.1:{port}/healthz")


def assert_serves_then_stops_on_sigterm(process: subprocess.Popen[str], port: int) -> None:
    try:
        wait_until(lambda: serving(process, port))
        wait_until(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = process.wait(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
        out, err = process.communicate(timeout=5)
    assert code == 0, err
    assert elapsed < 10
    assert "/healthz /readyz /metrics" in out


def test_dynamote_serve_simulate_http_starts_answers_and_exits_0_on_sigterm(
    slack_standin: SlackStandIn, tmp_path: Path
) -> None:
    port, health_port = free_port(), free_port()
    process = serve_process(
        [
            *("-m", "bot.cli", "serve", "--simulate", "--http"),
            *("--port", str(port), "--health-port", str(health_port)),
        ],
        process_env(slack_standin, tmp_path),
    )

    assert_serves_then_stops_on_sigterm(process, health_port)


@pytest.mark.parametrize("value", ["0", "65536", "-1"])
def test_serve_refuses_a_health_port_out_of_range_with_exit_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["serve", "--health-port", value])

    assert code == 2
    assert f"--health-port {value}: give a port between 1 and 65535" in capsys.readouterr().err


def test_a_bad_dynamote_health_port_stops_serve_with_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("DYNAMOTE_HEALTH_PORT", "70000")
    try:
        code = main(["serve"])
    finally:
        get_settings.cache_clear()

    assert code == 2
    assert "DYNAMOTE_HEALTH_PORT" in capsys.readouterr().err


def test_serve_closes_every_pool_the_composition_root_built_when_it_stops(
    slack_standin: SlackStandIn, sim_kubeconfig: Path
) -> None:
    served = Running(settings_for(slack_standin))
    try:
        wait_until(lambda: answers(f"{served.url}/healthz"))
        (dynamote,) = served.built
        assert dynamote.notifier is not None, "serve runs the notifier"
    finally:
        assert served.finish() == 0
    # A pool shut down refuses new work: the listeners' two pools and the service's reads.
    for pool in (
        dynamote.context.executor,
        dynamote.context.prompt_executor,
        dynamote.service._reads,
    ):
        with pytest.raises(RuntimeError, match="shutdown"):
            pool.submit(print)
