"""Evaluate the Tiltfile without Tilt: a stub of the Tilt builtins it uses, recording every call.

Tilt itself cannot be installed here (the Go module proxy refuses github.com/tilt-dev/tilt), so this
is the next best proof: the Tiltfile is checked to stay inside Starlark (no imports, classes,
f-strings, ``is``, ...), then executed against stubs whose signatures are Tilt's own (from its
``internal/tiltfile/api`` stubs), so a wrong keyword fails here as it would in Tilt. What it cannot
prove: that Tilt builds, deploys or live-updates anything.
"""

from __future__ import annotations

import ast
import builtins
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# Python constructs Starlark (go.starlark.net, as Tilt configures it) does not have.
NOT_STARLARK: tuple[type[ast.AST], ...] = (
    ast.Import,
    ast.ImportFrom,
    ast.ClassDef,
    ast.While,
    ast.Try,
    ast.TryStar,
    ast.With,
    ast.AsyncFunctionDef,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
    ast.Global,
    ast.Nonlocal,
    ast.JoinedStr,
    ast.Set,
    ast.SetComp,
    ast.Delete,
    ast.Assert,
    ast.Raise,
    ast.NamedExpr,
)

# Starlark's universe that a Python builtin of the same name stands in for.
STARLARK_BUILTINS = (
    "all", "any", "bool", "dict", "enumerate", "getattr", "hasattr", "int", "len", "list",
    "max", "min", "print", "range", "repr", "reversed", "sorted", "str", "tuple", "type", "zip",
)  # fmt: skip


def starlark_violations(source: str) -> list[str]:
    """Every construct of ``source`` that Starlark would reject, with its line."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, NOT_STARLARK):
            problems.append(f"line {line}: {type(node).__name__}")
        if isinstance(node, ast.Compare):
            if len(node.ops) > 1:
                problems.append(f"line {line}: chained comparison")
            if any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
                problems.append(f"line {line}: `is` comparison")
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            problems.append(f"line {line}: decorator")
    return problems


@dataclass(frozen=True)
class Call:
    """One call of a Tilt builtin, its arguments bound to Tilt's parameter names."""

    name: str
    args: dict[str, Any]


@dataclass
class Blob:
    """What ``blob``, ``helm`` and ``kustomize`` return: YAML Tilt would apply."""

    source: Call


@dataclass
class TiltStub:
    """The builtins, and what the Tiltfile did with them."""

    flags: dict[str, Any]
    calls: list[Call] = field(default_factory=list)

    def named(self, name: str) -> list[Call]:
        """The calls of one builtin, in order."""
        return [call for call in self.calls if call.name == name]

    def _record(self, signature: Callable[..., Any], result: Any = None) -> Callable[..., Any]:
        name = signature.__name__.lstrip("_")

        def builtin(*args: Any, **kwargs: Any) -> Any:
            bound = inspect.signature(signature).bind(*args, **kwargs)  # TypeError like Tilt's
            bound.apply_defaults()
            call = Call(name, dict(bound.arguments))
            self.calls.append(call)
            value = signature(*args, **kwargs)
            return result(call) if result is not None else value

        return builtin

    def globals(self) -> dict[str, Any]:
        """The Tiltfile's predeclared names."""
        defined: dict[str, Any] = {}

        def define_bool(name: str, args: bool = False, usage: str = "") -> None:
            defined[name] = "bool"

        def define_string(name: str, args: bool = False, usage: str = "") -> None:
            defined[name] = "string"

        def parse() -> dict[str, Any]:
            unknown = set(self.flags) - set(defined)
            if unknown:
                raise ValueError(f"undefined config flags: {unknown}")
            return dict(self.flags)

        config = SimpleNamespace(
            define_bool=self._record(define_bool),
            define_string=self._record(define_string),
            parse=self._record(parse),
        )
        record = self._record
        return {
            "__builtins__": {name: getattr(builtins, name) for name in STARLARK_BUILTINS},
            "config": config,
            "allow_k8s_contexts": record(_allow_k8s_contexts),
            "docker_build": record(_docker_build),
            "sync": record(_sync, result=lambda call: call),
            "run": record(_run, result=lambda call: call),
            "fall_back_on": record(_fall_back_on, result=lambda call: call),
            "k8s_yaml": record(_k8s_yaml),
            "helm": record(_helm, result=Blob),
            "kustomize": record(_kustomize, result=Blob),
            "blob": record(_blob, result=Blob),
            "k8s_kind": record(_k8s_kind),
            "k8s_resource": record(_k8s_resource),
            "local_resource": record(_local_resource),
            "probe": record(_probe, result=lambda call: call),
            "exec_action": record(_exec_action, result=lambda call: call),
            "http_get_action": record(_http_get_action, result=lambda call: call),
        }


def evaluate(path: Path, **flags: Any) -> TiltStub:
    """Check that the Tiltfile is Starlark, then run it with ``flags`` as ``tilt up -- --flag``."""
    source = path.read_text()
    violations = starlark_violations(source)
    if violations:
        raise SyntaxError(f"{path} is not Starlark: {violations}")
    stub = TiltStub(flags=flags)
    exec(compile(source, str(path), "exec"), stub.globals())
    return stub


# Tilt's signatures (internal/tiltfile/api/__init__.py); bodies never run.
# ruff: noqa: B006, N803, PLR0917
def _allow_k8s_contexts(contexts: Any) -> None: ...
def _docker_build(
    ref: str,
    context: str,
    build_args: dict[str, str] = {},
    dockerfile: str = "Dockerfile",
    dockerfile_contents: Any = "",
    live_update: list[Any] = [],
    match_in_env_vars: bool = False,
    ignore: Any = [],
    only: Any = [],
    entrypoint: Any = [],
    target: str = "",
    ssh: Any = "",
    network: str = "",
    secret: Any = "",
    extra_tag: Any = "",
    container_args: Any = None,
    cache_from: Any = [],
    pull: bool = False,
    platform: str = "",
    extra_hosts: Any = [],
) -> None: ...
def _sync(local_path: str, remote_path: str) -> None: ...
def _run(cmd: Any, trigger: Any = [], echo_off: bool = False) -> None: ...
def _fall_back_on(files: Any) -> None: ...
def _k8s_yaml(yaml: Any, allow_duplicates: bool = False) -> None: ...
def _helm(
    pathToChartDir: str,
    name: str = "",
    namespace: str = "",
    values: Any = [],
    set: Any = [],
    kube_version: str = "",
    skip_crds: bool = False,
) -> None: ...
def _kustomize(pathToDir: str, kustomize_bin: Any = None, flags: Any = []) -> None: ...
def _blob(contents: str) -> None: ...
def _k8s_kind(
    kind: str,
    api_version: Any = None,
    *,
    image_json_path: Any = [],
    image_object: Any = None,
    pod_readiness: str = "",
) -> None: ...
def _k8s_resource(
    workload: str = "",
    new_name: str = "",
    port_forwards: Any = [],
    extra_pod_selectors: Any = [],
    trigger_mode: Any = None,
    resource_deps: Any = [],
    objects: Any = [],
    auto_init: bool = True,
    pod_readiness: str = "",
    links: Any = [],
    labels: Any = [],
    discovery_strategy: str = "",
) -> None: ...
def _local_resource(
    name: str,
    cmd: Any = "",
    deps: Any = [],
    trigger_mode: Any = None,
    resource_deps: Any = [],
    ignore: Any = [],
    auto_init: bool = True,
    serve_cmd: Any = "",
    cmd_bat: Any = "",
    serve_cmd_bat: Any = "",
    allow_parallel: bool = False,
    links: Any = [],
    tags: Any = [],
    env: Any = {},
    serve_env: Any = {},
    readiness_probe: Any = None,
    dir: str = "",
    serve_dir: str = "",
    labels: Any = [],
) -> None: ...
def _probe(
    initial_delay_secs: int = 0,
    timeout_secs: int = 1,
    period_secs: int = 10,
    success_threshold: int = 1,
    failure_threshold: int = 3,
    exec: Any = None,
    http_get: Any = None,
    tcp_socket: Any = None,
) -> None: ...
def _exec_action(command: Any) -> None: ...
def _http_get_action(port: int, host: str = "", scheme: str = "http", path: str = "") -> None: ...
