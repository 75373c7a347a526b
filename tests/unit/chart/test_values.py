"""values.yaml, values.schema.json and the ci values files agree with the model and the operator."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ragline_dev.chart.docs import defaults, walk
from ragline_dev.chart.values import POD_FIELDS, ChartValues, tuning_fields
from ragline_dev.paths import REPO_ROOT
from ragline_operator.settings import OperatorConfig

CHART = REPO_ROOT / "charts" / "ragline"
VALUES_FILES = [CHART / "values.yaml", *sorted((CHART / "ci").glob("*-values.yaml"))]


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
    return schema


def _validator() -> jsonschema.Draft202012Validator:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", VALUES_FILES, ids=lambda p: p.name)
def test_values_file_validates_against_the_schema(path: Path) -> None:
    values = yaml.safe_load(path.read_text()) or {}
    errors = [
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in _validator().iter_errors(values)
    ]
    assert not errors, errors
    ChartValues.model_validate(values)  # the model the schema came from agrees


@pytest.mark.parametrize(
    ("values", "path", "message"),
    [
        ({"operator": {"imagee": {}}}, "operator", "'imagee' was unexpected"),
        ({"crds": {"keep": "yes"}}, "crds/keep", "is not of type 'boolean'"),
        ({"operator": {"config": {"handlerRetries": 0}}}, "operator/config/handlerRetries", "less"),
        ({"workloads": {"image": {"digest": "latest"}}}, "workloads/image/digest", "match"),
    ],
)
def test_schema_refuses_bad_values_naming_the_key(
    values: dict[str, Any], path: str, message: str
) -> None:
    errors = list(_validator().iter_errors(values))
    assert [("/".join(map(str, e.path)), message in e.message) for e in errors] == [(path, True)]


def test_values_yaml_is_the_model_defaults() -> None:
    assert yaml.safe_load((CHART / "values.yaml").read_text()) == defaults()


def test_every_values_key_is_commented() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    position = 0
    for key in walk(ChartValues, defaults()):
        prefix = "  " * key.depth + key.path.rsplit(".", 1)[-1] + ":"
        while not lines[position].startswith(prefix):
            position += 1  # IndexError: the key is missing or out of order
        assert lines[position - 1].lstrip().startswith("# "), f"no comment above {key.path}"
        position += 1


def test_operator_config_covers_every_operator_setting() -> None:
    config = defaults()["operator"]["config"]
    expected = set(OperatorConfig.model_fields) - {"image", "image_pull_policy", *POD_FIELDS}
    assert set(tuning_fields()) == expected
    assert len(config) == len(expected)
    operator_defaults = OperatorConfig().model_dump()
    for name in expected:
        camel = next(key for key in config if key.lower() == name.replace("_", ""))
        assert config[camel] == operator_defaults[name], name


def test_chart_version_and_default_image_are_the_release() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]
    image = defaults()["operator"]["image"]
    reference = f"{image['registry']}/{image['repository']}:{chart['appVersion']}"
    # What the operator stamps on workloads when nothing sets RAGLINE_OPERATOR_IMAGE.
    assert reference == OperatorConfig.model_fields["image"].default


def test_readme_table_lists_every_leaf_key() -> None:
    readme = (CHART / "README.md").read_text()
    leaves = [key.path for key in walk(ChartValues, defaults()) if key.submodel is None]
    rows = re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE)
    assert rows == leaves
