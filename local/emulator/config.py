"""The emulator's adjustable behaviour where Zoom is unclear or a test needs a variant.

    plan / limits       rate limits (a PLANS preset, or custom {"Light", "Medium", "Heavy", "daily"})
    retry_after_qps     Retry-After form on a per-second 429: seconds (default) | http-date | iso | none
    retry_after_daily   Retry-After form on a daily 429: iso (default) | seconds | http-date | none
    not_found_code      Zoom error code in the HTTP 400 for an unknown blocked-list id: 404 (default),
                        300 or 400, the three Zoom has been documented with
    echo_plus           whether entries echo phone_number as sent (True) or digits only (False; Zoom
                        has been seen dropping the '+')
    call_log_apis       which call-log APIs answer: both (default) | call_logs | call_history (the other
                        one answers 404, as a retired endpoint would)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from spam_blocker.domain.rate_plan import CATEGORIES, PlanLimits, plan_limits

from local.emulator.rate_limits import DAILY, QPS, RETRY_AFTER_FORMS

NOT_FOUND_CODES = (300, 400, 404)
CALL_LOG_APIS = ("both", "call_logs", "call_history")


@dataclass
class EmulatorConfig:
    limits: PlanLimits
    retry_after: dict[str, str] = field(default_factory=lambda: {QPS: "seconds", DAILY: "iso"})
    not_found_code: int = 404
    echo_plus: bool = True
    call_log_apis: str = "both"

    def copy(self) -> EmulatorConfig:
        return replace(self, retry_after=dict(self.retry_after))

    def update(self, *, plan: str | None = None, limits: dict[str, int] | PlanLimits | None = None,
               retry_after_qps: str | None = None, retry_after_daily: str | None = None,
               not_found_code: int | None = None, echo_plus: bool | None = None,
               call_log_apis: str | None = None) -> None:
        """Validates every change first, then applies them all (a bad value changes nothing)."""
        new = self.copy()
        if plan is not None:
            new.limits = plan_limits(plan)
        if limits is not None:
            new.limits = limits if isinstance(limits, PlanLimits) else _custom_limits(limits)
        for limit_type, form in ((QPS, retry_after_qps), (DAILY, retry_after_daily)):
            if form is not None:
                if form not in RETRY_AFTER_FORMS:
                    raise ValueError(f"Retry-After form must be one of {', '.join(RETRY_AFTER_FORMS)}, got {form!r}")
                new.retry_after[limit_type] = form
        if not_found_code is not None:
            if not_found_code not in NOT_FOUND_CODES:
                raise ValueError(f"not_found_code must be one of {NOT_FOUND_CODES}, got {not_found_code!r}")
            new.not_found_code = not_found_code
        if echo_plus is not None:
            new.echo_plus = bool(echo_plus)
        if call_log_apis is not None:
            if call_log_apis not in CALL_LOG_APIS:
                raise ValueError(f"call_log_apis must be one of {', '.join(CALL_LOG_APIS)}, got {call_log_apis!r}")
            new.call_log_apis = call_log_apis
        self.restore(new)

    def restore(self, other: EmulatorConfig) -> None:
        """Takes every value of `other`, in place: handlers holding this object see the change."""
        self.limits = other.limits
        self.retry_after = dict(other.retry_after)
        self.not_found_code = other.not_found_code
        self.echo_plus = other.echo_plus
        self.call_log_apis = other.call_log_apis

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.limits.name,
            "limits": {**self.limits.per_second, "daily": self.limits.daily},
            "retry_after_qps": self.retry_after[QPS],
            "retry_after_daily": self.retry_after[DAILY],
            "not_found_code": self.not_found_code,
            "echo_plus": self.echo_plus,
            "call_log_apis": self.call_log_apis,
        }


def _custom_limits(values: dict[str, int]) -> PlanLimits:
    missing = [name for name in (*CATEGORIES, "daily") if name not in values]
    if missing:
        raise ValueError(f"custom limits need {', '.join(missing)}")
    numbers = {name: values[name] for name in (*CATEGORIES, "daily")}
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in numbers.values()):
        raise ValueError("limits must be positive integers")
    return PlanLimits("custom", {c: numbers[c] for c in CATEGORIES}, numbers["daily"])
