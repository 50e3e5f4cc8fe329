"""Every function's settings, built from one environment as its handler will build them, before a local run.

In Lambda a bad setting fails the function at its cold start, and CloudWatch shows it. In `spam-blocker run`
the same failure would repeat on every message until the queue's redrive moved it to a dead-letter queue,
minutes later, and the run could still end with exit 0. So the runner checks first: a bad value is a bad
usage (exit 2), named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class BadSettings(ValueError):
    """A setting a function would refuse, in one line naming the variable."""


def check_function_settings(env: Mapping[str, str]) -> None:
    """Raise BadSettings for the first function (scorer, blocker, reconciler, expirer) whose settings, or what
    its wiring derives from them (policy, rate limits, renewal), `env` makes invalid."""
    from spam_blocker.config import SettingsError
    from spam_blocker.config.blocker import BlockerSettings
    from spam_blocker.config.expirer import ExpirerSettings
    from spam_blocker.config.reconciler import ReconcilerSettings
    from spam_blocker.config.scorer import ScorerSettings
    from spam_blocker.domain.rate_plan import plan_limits
    from spam_blocker.domain.rate_window import limits_for_plan

    def limits(s: Any) -> Any:
        return limits_for_plan(plan_limits(s.zoom_plan), margin_s=s.rate_limit_margin_s,
                               reserve_fraction=s.rate_limit_reserve)

    checks: list[tuple[str, Any, Callable[[Any], Any]]] = [
        ("scorer", ScorerSettings, lambda s: (s.policy(), s.options())),
        ("blocker", BlockerSettings, lambda s: (s.policy(), limits(s))),
        ("reconciler", ReconcilerSettings, lambda s: (s.adoption(), limits(s))),
        ("expirer", ExpirerSettings, lambda s: (s.renewal(), limits(s))),  # --expire-at, and lifts at start
    ]
    for function, model, derive in checks:
        try:
            derive(model.from_env(env))
        except SettingsError as exc:
            raise BadSettings(f"the {function}'s settings: {_without_model_name(str(exc))}") from None
        except ValueError as exc:
            raise BadSettings(f"the {function}'s settings: {exc}") from None


def _without_model_name(message: str) -> str:
    head, sep, rest = message.partition(": ")
    return rest if sep and head.endswith("Settings") else message
