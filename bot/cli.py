"""The ``dynamote`` command: catalog, render, sim, serve, playground and doctor.

Outside scripts rely on these subcommands and their flags, so keep them stable. Invalid input
prints one message on stderr and exits 2, never a traceback. Heavy libraries (pydantic models,
the Kubernetes and Slack clients) are imported inside the subcommand that needs them so that
``dynamote --help`` stays fast. ``render`` and ``catalog`` read the settings with
:func:`bot.config.fields.read_settings` and never import pydantic-settings (about 0.1 s of
their start; ``benchmarks/run.py startup``); tests/test_cli.py checks what they import.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain.dgd import API_VERSIONS

if TYPE_CHECKING:
    from bot.config.fields import SettingsFields
    from bot.domain.catalog import Catalog

__all__ = ["build_parser", "main"]

EXIT_USAGE = 2
ENGINE_CHOICES = ("vllm", "sglang", "trtllm")


class UsageError(Exception):
    """Bad input on the command line: shown on stderr, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dynamote",
        description="Deploy LLMs from Slack onto Kubernetes with the NVIDIA Dynamo operator.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    catalog = sub.add_parser("catalog", help="list the models of the catalog")
    catalog.add_argument("words", nargs="*", help="words that must all match")
    catalog.add_argument("--engine", choices=ENGINE_CHOICES, help="only models this engine runs")
    catalog.add_argument("--json", action="store_true", help="print JSON instead of YAML")

    render = sub.add_parser("render", help="print the DynamoGraphDeployment for a model")
    render.add_argument("model", metavar="MODEL_ID", help="Hugging Face id from the catalog")
    render.add_argument("--name", help="deployment name (default: from the model id)")
    render.add_argument("--namespace", help="namespace (default: DYNAMOTE_DEFAULT_NAMESPACE)")
    render.add_argument("--engine", choices=ENGINE_CHOICES, help="default: the model's first")
    render.add_argument("--mode", choices=("aggregated", "disaggregated"), default="aggregated")
    render.add_argument("--replicas", type=int, default=1, help="worker replicas")
    render.add_argument("--router", choices=("none", "kv", "round-robin"), default="none")
    render.add_argument("--gpus", type=int, default=1, help="GPUs per worker")
    render.add_argument("--context-length", type=int, help="maximum context length in tokens")
    render.add_argument("--hf-secret", help="Secret with HF_TOKEN (default: DYNAMOTE_HF_SECRET)")
    render.add_argument("--served-model-name", help="name clients use (default: the model id)")
    render.add_argument("--memory", help="memory per worker, a Kubernetes quantity (16Gi)")
    render.add_argument("--enforce-eager", action=argparse.BooleanOptionalAction, default=False)
    render.add_argument("--prefix-caching", action=argparse.BooleanOptionalAction, default=True)
    render.add_argument("--trust-remote-code", action="store_true")
    render.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        metavar="FLAG=VALUE",
        help="extra engine flag (repeatable), without leading dashes",
    )
    render.add_argument(
        "--api-version",
        choices=API_VERSIONS,
        help="default: nvidia.com/v1beta1, or DYNAMOTE_API_VERSION when it names one",
    )

    sim = sub.add_parser("sim", help="run the Kubernetes API stand-in and simulated operator")
    sim.add_argument("--kubeconfig", required=True, type=Path, help="where to write the config")
    sim.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")

    serve = sub.add_parser("serve", help="run the Slack bot (Socket Mode or HTTP)")
    serve.add_argument(
        "--simulate", action="store_true", help="use the embedded Kubernetes stand-in"
    )
    serve.add_argument(
        "--http", action="store_true", help="HTTP mode even when SLACK_APP_TOKEN is set"
    )
    serve.add_argument(
        "--port", type=int, default=3000, help="port for /slack/events (HTTP mode) and health"
    )
    serve.add_argument(
        "--health-port",
        type=int,
        help="own port for /healthz, /readyz, /metrics (default: DYNAMOTE_HEALTH_PORT or --port)",
    )

    playground = sub.add_parser(
        "playground", help="the bot, a simulated cluster and a page that plays Slack, locally"
    )
    playground.add_argument(
        "--port", type=int, default=3100, help="port of the page on 127.0.0.1 (default: 3100)"
    )

    sub.add_parser(
        "doctor",
        help="check Slack, the cluster, RBAC, HF secrets and the catalog; exit 1 on a failure",
    )
    return parser


def _settings_and_catalog() -> tuple[SettingsFields, Catalog]:
    """The settings (read without pydantic-settings: see bot.config.fields) and the catalog."""
    from bot.config.fields import read_settings  # noqa: PLC0415
    from bot.domain.catalog import default_catalog_path, load_catalog  # noqa: PLC0415

    settings = read_settings()  # a bad setting raises SettingsError: exit 2 (main)
    return settings, load_catalog(settings.catalog or default_catalog_path())


def _cmd_catalog(args: argparse.Namespace) -> int:
    _settings, catalog = _settings_and_catalog()
    models = catalog.search(args.words, engine=args.engine)
    rows = [m.model_dump(by_alias=True, mode="json", exclude_none=True) for m in models]
    _print_document(rows, as_json=args.json)
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from bot.domain.manifest import DEFAULT_API_VERSION, render_dgd  # noqa: PLC0415
    from bot.domain.privileges import privileges_of  # noqa: PLC0415
    from bot.domain.request import (  # noqa: PLC0415
        RequestError,
        RequestLimits,
        default_name,
        parse_request,
    )

    settings, catalog = _settings_and_catalog()
    model = catalog.get(args.model)
    if model is None:
        guesses = catalog.search(args.model.replace("/", " ").replace("-", " ").split()[:1])
        hint = f"; did you mean {', '.join(m.id for m in guesses[:5])}?" if guesses else ""
        raise UsageError(f"unknown model {args.model!r}{hint} (see `dynamote catalog` for the ids)")
    namespace = args.namespace or settings.default_namespace
    try:
        request = parse_request(
            {
                "model": model.id,
                "name": args.name if args.name is not None else default_name(model.id, namespace),
                "namespace": namespace,
                "engine": args.engine or model.supported_engines[0],
                "mode": args.mode,
                "replicas": args.replicas,
                "routerMode": args.router,
                "gpus": args.gpus,
                "contextLength": args.context_length,
                "memory": args.memory,
                "servedModelName": args.served_model_name,
                "enforceEager": args.enforce_eager,
                "enablePrefixCaching": args.prefix_caching,
                "trustRemoteCode": args.trust_remote_code,
                "engineArgs": "\n".join(args.engine_arg),
                "hfTokenSecret": args.hf_secret or settings.hf_secret,
            },
            catalog=catalog,
            limits=RequestLimits(
                settings.max_replicas, settings.max_gpus_per_worker, settings.dynamo_version
            ),
            # The operator's own tool, and it creates nothing: an admin's rules, and the
            # Secret named on the command line.
            privileges=replace(
                privileges_of(settings, admin=True),
                hf_secrets=(*settings.hf_secret_names, args.hf_secret or settings.hf_secret),
            ),
        )
    except RequestError as exc:
        raise UsageError(_describe_request_errors(exc.errors)) from None
    forced = settings.api_version if settings.api_version != "auto" else None
    manifest = render_dgd(
        request,
        image=settings.image_for(request.engine),
        api_version=args.api_version or forced or DEFAULT_API_VERSION,
        ephemeral_storage=settings.ephemeral_storage,
        dynamo_version=settings.dynamo_version,
        model=model,
    )
    _print_document(manifest, as_json=False)
    return 0


_CLI_FLAGS = {
    "model": "MODEL_ID",
    "name": "--name",
    "namespace": "--namespace",
    "engine": "--engine",
    "mode": "--mode",
    "replicas": "--replicas",
    "routerMode": "--router",
    "gpus": "--gpus",
    "contextLength": "--context-length",
    "memory": "--memory",
    "servedModelName": "--served-model-name",
    "enforceEager": "--enforce-eager",
    "enablePrefixCaching": "--prefix-caching",
    "trustRemoteCode": "--trust-remote-code",
    "engineArgs": "--engine-arg",
    "hfTokenSecret": "--hf-secret",
}


def _describe_request_errors(errors: dict[str, str]) -> str:
    return "\n".join(f"{_CLI_FLAGS.get(field, field)}: {msg}" for field, msg in errors.items())


def _cmd_sim(args: argparse.Namespace) -> int:
    from bot.config.settings import get_settings  # noqa: PLC0415
    from bot.sim.run import run_sim  # noqa: PLC0415

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: give a port between 1 and 65535 (or 0 for any)")
    return run_sim(args.kubeconfig, port=args.port, ready_after=get_settings().sim_ready_after)


def _cmd_serve(args: argparse.Namespace) -> int:
    from bot.serve import run_serve  # noqa: PLC0415

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: give a port between 1 and 65535 (or 0 for any)")
    if args.health_port is not None and not 1 <= args.health_port <= 65535:
        raise UsageError(f"--health-port {args.health_port}: give a port between 1 and 65535")
    return run_serve(
        simulate=args.simulate, http=args.http, port=args.port, health_port=args.health_port
    )


def _cmd_playground(args: argparse.Namespace) -> int:
    from bot.playground.run import run_playground  # noqa: PLC0415

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: give a port between 1 and 65535 (or 0 for any)")
    return run_playground(port=args.port)


def _cmd_doctor(_args: argparse.Namespace) -> int:
    from bot.config.settings import get_settings  # noqa: PLC0415
    from bot.ops.doctor import run_doctor  # noqa: PLC0415
    from bot.ops.logs import configure_logging  # noqa: PLC0415

    settings = get_settings()  # a bad setting raises SettingsError: exit 2 (main)
    configure_logging(settings)
    return run_doctor(settings)


def _print_document(document: Any, *, as_json: bool) -> None:
    if as_json:
        import json  # noqa: PLC0415

        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    import yaml  # noqa: PLC0415

    sys.stdout.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000))


_COMMANDS = {
    "catalog": _cmd_catalog,
    "render": _cmd_render,
    "sim": _cmd_sim,
    "serve": _cmd_serve,
    "doctor": _cmd_doctor,
    "playground": _cmd_playground,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"dynamote {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # SettingsError and CatalogError: configuration is wrong
        print(f"dynamote {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
