"""The Helm chart's generated files and the kustomize install, from the operator's sources.

:func:`chart_documents` is the ``make generate`` generator: values.yaml, values.schema.json, the
chart's README, its CRD / ClusterRole / operator-env templates and ``manifests/install/``.
"""

from __future__ import annotations

import json

from ragline_dev.chart.docs import readme, values_schema, values_yaml
from ragline_dev.chart.install import install_documents
from ragline_dev.chart.templates import CHART_DIR, generated_templates


def chart_documents() -> dict[str, str]:
    """Every generated file of charts/ragline and manifests/install."""
    schema = json.dumps(values_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return {
        f"{CHART_DIR}/values.yaml": values_yaml(),
        f"{CHART_DIR}/values.schema.json": schema,
        f"{CHART_DIR}/README.md": readme(),
        **generated_templates(),
        **install_documents(),
    }
