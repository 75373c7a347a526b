"""A small stand-in for the API server's validation, to test the generated CRDs offline.

It applies the schema's defaults, checks the OpenAPI constraints with jsonschema (Draft 4 has the
same boolean ``exclusiveMinimum`` as OpenAPI v3.0) and evaluates every ``x-kubernetes-validations``
rule with cel-python, transition rules (``oldSelf``) only where the old object has the field, as
Kubernetes does. It is evidence that the rules say what we mean; the real API server (e2e) is the
evidence that Kubernetes agrees.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from jsonschema import Draft4Validator

Schema = Mapping[str, Any]
_ENV = celpy.Environment()


def apply_defaults(schema: Schema, value: Any) -> Any:
    """A copy of ``value`` with the schema's defaults filled in (objects that are present only)."""
    value = copy.deepcopy(value)
    _default_into(schema, value)
    return value


def _default_into(schema: Schema, value: Any) -> None:
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                _default_into(sub, value[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            for item in value.values():
                _default_into(extra, item)
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            _default_into(schema["items"], item)


def _rule_sites(
    schema: Schema, value: Any, old: Any, path: str
) -> Iterator[tuple[str, Schema, Any, Any]]:
    yield path, schema, value, old
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                old_sub = old.get(name) if isinstance(old, dict) else None
                yield from _rule_sites(sub, value[name], old_sub, f"{path}.{name}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            old_item = old[index] if isinstance(old, list) and index < len(old) else None
            yield from _rule_sites(schema["items"], item, old_item, f"{path}[{index}]")


def cel_violations(schema: Schema, value: Any, old: Any = None) -> list[str]:
    """Messages of the CEL rules ``value`` breaks (``old`` enables transition rules)."""
    messages = []
    for path, node, here, before in _rule_sites(schema, value, old, ""):
        for rule in node.get("x-kubernetes-validations") or []:
            transition = "oldSelf" in rule["rule"]
            if transition and before is None:
                continue
            activation = {"self": json_to_cel(here)}
            if transition:
                activation["oldSelf"] = json_to_cel(before)
            program = _ENV.program(_ENV.compile(rule["rule"]))
            if not bool(program.evaluate(activation)):
                messages.append(f"{path or '<root>'}: {rule['message']}")
    return messages


def violations(crd: Mapping[str, Any], obj: Mapping[str, Any], old: Any = None) -> list[str]:
    """Every reason the API server would refuse ``obj`` (as created, or updated from ``old``)."""
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    value = apply_defaults(schema, obj)
    errors = [
        f"{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in Draft4Validator(schema).iter_errors(value)
    ]
    if errors:
        return errors
    return cel_violations(schema, value, apply_defaults(schema, old) if old else None)
