"""The scorer's Policy overrides, read by every function that judges evidence, so that they judge alike.

The scorer decides with them; the blocker's RangeGuard checks a range against the same legitimacy rules
(LEGIT_WINDOW_DAYS, NOT_SPAM_COOLDOWN_DAYS, the half-lives) just before creating it; the expirer's `explain`
re-runs the decision with them. Set them to the same values on all three (template.yaml does).

Unset = the documented default of spam_blocker.domain.scoring.Policy (docs/scoring.md).
"""

from __future__ import annotations

import textwrap
from dataclasses import replace

from pydantic import BaseModel, Field

from spam_blocker.domain.scoring import DEFAULT_POLICY, Policy


class PolicyOverrides(BaseModel):
    report_half_life_days: float | None = Field(default=None, gt=0)
    call_half_life_days: float | None = Field(default=None, gt=0)
    legit_half_life_days: float | None = Field(default=None, gt=0)
    number_block_score: float | None = Field(default=None, gt=0)
    pattern_inbound_legit_cap: float | None = Field(default=None, ge=0)
    not_spam_cooldown_days: float | None = Field(default=None, ge=0)
    legit_window_days: float | None = Field(default=None, ge=0)
    range_blocking: bool | None = None
    range_window_days: float | None = Field(default=None, gt=0)
    range_min_reporters: int | None = Field(default=None, ge=0)
    number_block_days: float | None = Field(default=None, gt=0)
    single_reporter_block_days: float | None = Field(default=None, gt=0)
    prefix_block_days: float | None = Field(default=None, gt=0)

    def policy(self) -> Policy:
        overrides = {name: getattr(self, name) for name in PolicyOverrides.model_fields
                     if getattr(self, name) is not None}
        return replace(DEFAULT_POLICY, **overrides)


POLICY_ENV_DOC = "\n".join([
    "Policy overrides (unset = the documented default of spam_blocker.domain.scoring.Policy, docs/scoring.md;",
    "the same on the scorer, the blocker and the expirer, which judge evidence alike):",
    *textwrap.wrap(", ".join(name.upper() for name in PolicyOverrides.model_fields) + ".", width=100),
])
