"""A small reader of the Dockerfile: stages, their instructions and ARG defaults resolved."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    """One ``FROM ... AS name`` stage."""

    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        """The arguments of every ``keyword`` instruction of this stage, in order."""
        return [args for word, args in self.instructions if word == keyword]


@dataclass
class Dockerfile:
    """The parsed file: global ARG defaults and the stages by name."""

    args: dict[str, str]
    stages: dict[str, Stage]

    def resolve(self, text: str) -> str:
        """Substitute ``${ARG}`` with its default."""
        return re.sub(r"\$\{(\w+)\}", lambda m: self.args.get(m.group(1), m.group(0)), text)

    def chain(self, name: str) -> list[Stage]:
        """The stage and the stages it is built on, nearest first."""
        stages = []
        while name in self.stages:
            stages.append(self.stages[name])
            name = self.stages[name].base
        return stages

    def external_base(self, name: str) -> str:
        """The image (outside this file) a stage ultimately starts from."""
        return self.resolve(self.chain(name)[-1].base)

    def effective(self, name: str, keyword: str) -> str | None:
        """The last ``keyword`` (USER, ENTRYPOINT, ...) in force for a stage."""
        for stage in self.chain(name):
            found = stage.values(keyword)
            if found:
                return found[-1]
        return None

    def env(self, name: str) -> dict[str, str]:
        """The ENV variables in force for a stage (``K=V`` forms)."""
        result: dict[str, str] = {}
        for stage in reversed(self.chain(name)):
            for args in stage.values("ENV"):
                for item in shlex.split(args):
                    key, _, value = item.partition("=")
                    result[key] = value
        return result


def exec_form(args: str) -> list[str]:
    """A JSON (exec form) ENTRYPOINT/CMD."""
    parsed = json.loads(args)
    assert isinstance(parsed, list), args
    return [str(item) for item in parsed]


def parse(path: Path) -> Dockerfile:
    """Read a Dockerfile: joins continuation lines, drops comments and the parser directive."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", rest.strip(), flags=re.IGNORECASE)
            assert match, f"every stage is named: {line}"
            current = Stage(name=match.group(2), base=match.group(1))
            stages[current.name] = current
        elif current is None and keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif current is not None:
            current.instructions.append((keyword, rest.strip()))
    return Dockerfile(args=args, stages=stages)
