"""Writes docs/configuration.md from the settings models themselves, so the reference cannot drift:
`python -m local.config_reference > docs/configuration.md` (a test checks the file is current)."""

from __future__ import annotations

import importlib
import inspect
import sys

from pydantic_core import PydanticUndefined
from spam_blocker.config.policy import POLICY_ENV_DOC, PolicyOverrides

FUNCTIONS = [
    ("scorer", "spam_blocker.config.scorer", "ScorerSettings"),
    ("blocker", "spam_blocker.config.blocker", "BlockerSettings"),
    ("expirer", "spam_blocker.config.expirer", "ExpirerSettings"),
    ("reconciler", "spam_blocker.config.reconciler", "ReconcilerSettings"),
    ("backfill", "spam_blocker.config.backfill", "BackfillSettings"),
    ("ingest", "spam_blocker.config.ingest", "IngestSettings"),
]

HEADER = """# Configuration reference

Every Lambda function reads its settings from environment variables (in AWS, set by `template.yaml` from
its Parameters; locally, set by `spam-blocker run` and the ops commands). Each function validates them
once at cold start: a missing or bad value fails with the variable's name. Generated from the settings
models by `python -m local.config_reference`; do not edit by hand.

Common to every function: `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_NAMESPACE` (ZoomSpamBlocker),
`POWERTOOLS_LOG_LEVEL`. The local runner also honours `ZOOM_API_URL`, `ZOOM_OAUTH_URL`, `ZOOM_ACCOUNT_ID`,
`ZOOM_CLIENT_ID`, `ZOOM_CLIENT_SECRET` ([contracts.md](contracts.md), the command line).
"""


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`"


def render() -> str:
    out = [HEADER]
    for name, module_name, class_name in FUNCTIONS:
        module = importlib.import_module(module_name)
        model = getattr(module, class_name)
        out.append(f"## {name}\n")
        doc = inspect.getdoc(module) or ""
        if issubclass(model, PolicyOverrides):
            doc = f"{doc}\n\n{POLICY_ENV_DOC}"
        if doc:
            out.append("```\n" + doc + "\n```\n")
        out.append("| variable | default |\n|---|---|")
        fields = sorted(model.model_fields.items(), key=lambda item: item[0] in PolicyOverrides.model_fields)
        for field_name, field in fields:
            out.append(f"| `{field_name.upper()}` | {_default(field)} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render())
