"""The ``ragline`` command: install, start, inspect and stop the local platform."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ragline_dev import paths, procs
from ragline_dev.infra import Stack
from ragline_dev.infra.postgres import bin_dir as postgres_bin_dir
from ragline_dev.infra.stack import PartStatus
from ragline_dev.platform import STREAM, platform_parts
from ragline_dev.progress import say, step


def _stack(args: argparse.Namespace, *, tie_to_parent: bool = True) -> Stack:
    return Stack(
        root=Path(args.stack_dir) if args.stack_dir else paths.default_stack_dir(),
        parts=platform_parts(
            kafka=not args.no_kafka, kube=not args.no_kube, services=not args.infra_only
        ),
        tie_to_parent=tie_to_parent,
    )


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_install(args: argparse.Namespace) -> int:
    """Install every part of the local infrastructure (cached)."""
    with step("Installing the local infrastructure"):
        _stack(args).install()
    return 0


def _describe(statuses: Sequence[PartStatus]) -> str:
    lines = []
    for status in statuses:
        if status.state is None:
            lines.append(f"  {status.name:<10} not started")
            continue
        health = "healthy" if status.healthy else ("unhealthy" if status.running else "stopped")
        lines.append(f"  {status.name:<10} {health}")
        lines.extend(f"      {key:<10} {value}" for key, value in status.state.endpoints.items())
        lines.extend(f"      {'log':<10} {log}" for log in status.state.logs)
    return "\n".join(lines)


def _api_tips(api: str, stack_root: Path) -> list[str]:
    stack = "" if stack_root == paths.default_stack_dir() else f" --stack-dir {stack_root}"
    order = '{"lines": [{"product_id": "<id from the list>", "quantity": 2}]}'
    return [
        f"  export TOKEN=$(.venv/bin/ragline{stack} token --tenant demo --user me --role staff)",
        f'  curl -s -H "Authorization: Bearer $TOKEN" {api}/v1/products',
        f"  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Idempotency-Key: try-1' \\\n"
        f"       -H 'Content-Type: application/json' -d '{order}' {api}/v1/orders",
        f"  open {api}/docs                 # the API's OpenAPI UI",
    ]


# A tip, not a query this program runs: what an order left in the outbox, and whether it went.
OUTBOX_QUERY = "SELECT type, aggregateid, published_at FROM outbox ORDER BY created_at"


def _try_next(statuses: Sequence[PartStatus], stack_root: Path) -> str:
    endpoints = {s.name: s.state.endpoints for s in statuses if s.state is not None}
    tips = ["What to try:"]
    if "api" in endpoints:
        tips += _api_tips(endpoints["api"]["url"], stack_root)
    if "notifier" in endpoints:
        tips += [
            "  # live order events of the demo tenant (run it, then place an order above):",
            f'  curl -N -H "Authorization: Bearer $TOKEN" '
            f"{endpoints['notifier']['url']}/v1/stream/orders",
        ]
    if "operator" in endpoints and "kube" in endpoints:
        tips.append(
            f"  {endpoints['kube']['kubectl']} --kubeconfig {endpoints['kube']['kubeconfig']} "
            f"get tc,es,rp -n {endpoints['operator']['samples']}"
        )
    if "llm" in endpoints:
        chat = '{"stream": true, "messages": [{"role": "user", "content": "Something spicy?"}]}'
        tips += [
            f"  curl -N -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\"
            f"\n       -d '{chat}' {endpoints['llm']['url']}/v1/chat",
            "      # the model: any OpenAI-compatible server, e.g. RAGLINE_LLM_BASE_URL="
            "http://127.0.0.1:11434/v1 RAGLINE_LLM_MODEL=llama3.2 make up",
        ]
    if "postgres" in endpoints:
        # The wheel's own psql: the machine may have none, or one older than the server.
        psql, dsn = postgres_bin_dir() / "psql", endpoints["postgres"]["dsn"]
        tips.append(f"  {psql} '{dsn}' -c {OUTBOX_QUERY!r}")
    if "valkey" in endpoints:
        # No redis-cli comes with the Valkey wheel: redis-py (in the environment) reads the stream.
        url = endpoints["valkey"]["url"]
        tips.append(
            f"  .venv/bin/python -c \"import redis; r = redis.Redis.from_url('{url}'); "
            f"print(r.xinfo_stream('{STREAM}'), r.xinfo_groups('{STREAM}'))\""
        )
    if "kube" in endpoints:
        kube = endpoints["kube"]
        tips.append(f"  export KUBECONFIG={kube['kubeconfig']}")
        tips.append(f"  {kube['kubectl']} get nodes,pods -A")
    tips.append("  ragline status --json      # every endpoint as JSON")
    return "\n".join(tips)


def cmd_up(args: argparse.Namespace) -> int:
    """Bring the local platform up; in the foreground until Ctrl-C unless ``--detach``."""
    if args.cluster == "kind":
        from ragline_dev.kind import main as kind_main  # noqa: PLC0415 - Docker-only path

        return kind_main(["up"])
    stack = _stack(args, tie_to_parent=not args.detach)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        stack.up()
        statuses = stack.status()
        print(f"\nRAGline local stack in {stack.root}\n{_describe(statuses)}\n")
        print(_try_next(statuses, stack.root))
        if args.detach:
            stack.release()
            print("\nDetached: `ragline down` (or `make down`) stops it.")
            return 0
        print("\nPress Ctrl-C to stop everything.", flush=True)
        while all(s.running for s in stack.status()):
            time.sleep(1.0)
        failed = [s.name for s in stack.status() if not s.running]
        say(f"{', '.join(failed)} stopped unexpectedly; logs:")
        for log, tail in stack.logs().items():
            print(f"--- {log}\n{tail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        say("Stopping ...")
        return 0
    except procs.StartError as exc:
        say(f"could not start the stack: {exc}")
        return 1
    finally:
        stack.close()


def cmd_down(args: argparse.Namespace) -> int:
    """Stop every part recorded in the stack directory."""
    _stack(args).down()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print what runs where; exit 1 when a started part is not healthy."""
    stack = _stack(args)
    statuses = stack.status()
    if args.json:
        document = {
            s.name: {
                "running": s.running,
                "healthy": s.healthy,
                "endpoints": s.state.endpoints if s.state else {},
                "logs": s.state.logs if s.state else [],
            }
            for s in statuses
        }
        print(json.dumps({"stack": str(stack.root), "parts": document}, indent=2))
    else:
        print(f"RAGline local stack in {stack.root}\n{_describe(statuses)}")
    started = [s for s in statuses if s.state is not None]
    return 0 if all(s.healthy for s in started) else 1


def cmd_token(args: argparse.Namespace) -> int:
    """Mint a dev token for a tenant of the local registry (written first if missing)."""
    from ragline_dev.dev_tenants import mint_dev_token  # noqa: PLC0415 - only this command

    stack_root = Path(args.stack_dir) if args.stack_dir else paths.default_stack_dir()
    directory = Path(args.tenants_dir) if args.tenants_dir else stack_root / "tenants"
    try:
        print(
            mint_dev_token(
                directory,
                tenant_id=args.tenant,
                user_id=args.user,
                roles=args.role or ["staff"],
                ttl_seconds=args.ttl,
            )
        )
    except ValueError as exc:
        say(str(exc))
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``ragline`` command."""
    parser = argparse.ArgumentParser(prog="ragline", description=__doc__)
    parser.add_argument("--stack-dir", help="where the running stack keeps data, logs and state")
    parser.add_argument("--no-kafka", action="store_true", help="leave Kafka out")
    parser.add_argument(
        "--no-kube", action="store_true", help="leave the local Kubernetes control plane out"
    )
    parser.add_argument(
        "--infra-only", action="store_true", help="only the infrastructure, no RAGline service"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("install", help=cmd_install.__doc__).set_defaults(func=cmd_install)

    up = sub.add_parser("up", help=cmd_up.__doc__)
    up.add_argument("--detach", action="store_true", help="start and return; `ragline down` stops")
    up.add_argument("--cluster", choices=["local", "kind"], default="local")
    up.set_defaults(func=cmd_up)

    sub.add_parser("down", help=cmd_down.__doc__).set_defaults(func=cmd_down)

    status = sub.add_parser("status", help=cmd_status.__doc__)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    token = sub.add_parser("token", help=cmd_token.__doc__)
    token.add_argument("--tenant", default="demo", help="tenant id (default: demo)")
    token.add_argument("--user", default="dev", help="user id (default: dev)")
    token.add_argument(
        "--role",
        action="append",
        choices=["customer", "staff", "admin"],
        help="repeatable (default: staff)",
    )
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.add_argument("--tenants-dir", help="registry and keys (default: <stack dir>/tenants)")
    token.set_defaults(func=cmd_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ragline`` command."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
