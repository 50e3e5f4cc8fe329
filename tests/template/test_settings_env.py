"""Every function's Environment.Variables against its Settings model (config/<function>.py): required
fields present, nothing the model does not know, and the values the template gives (parameters at their
defaults and at each allowed value) validate. Then the wiring: a missing required variable fails
`get_deps()` at cold start with a SettingsError that names it."""

from __future__ import annotations

import inspect
import os

import pytest
from moto import mock_aws
from spam_blocker.config import BaseSettings, SettingsError

from tests.template.cfn import refs, resolve_env
from tests.template.conftest import FUNCTIONS

# Read by Powertools or set by Lambda itself; not part of any Settings model.
PLATFORM_PREFIXES = ("POWERTOOLS_", "AWS_", "LAMBDA_", "_")
# Required by a model validator rather than by a field without default (`exactly one source` rules).
SECRET_VARIABLES = ("ZOOM_SECRET_ARN", "ZOOM_WEBHOOK_SECRET_ARN")


def settings_model(function: str) -> type[BaseSettings]:
    module = pytest.importorskip(f"spam_blocker.config.{function}",
                                 reason=f"spam_blocker.config.{function} not written yet")
    models = [obj for obj in vars(module).values() if inspect.isclass(obj) and issubclass(obj, BaseSettings)
              and obj.__module__ == module.__name__]
    assert len(models) == 1, f"{module.__name__}: expected one Settings model, found {models}"
    return models[0]


def template_env(translated, logical_id: str) -> dict:
    return translated["Resources"][logical_id]["Properties"]["Environment"]["Variables"]


def own_variables(env: dict) -> dict:
    return {k: v for k, v in env.items() if not k.startswith(PLATFORM_PREFIXES)}


def required_variables(model: type[BaseSettings]) -> set[str]:
    return {name.upper() for name, field in model.model_fields.items() if field.is_required()}


CASES = sorted(FUNCTIONS.items())


@pytest.mark.parametrize("logical_id, function", CASES)
def test_environment_has_every_required_setting_and_nothing_unknown(translated, logical_id, function):
    model = settings_model(function)
    names = set(own_variables(template_env(translated, logical_id)))
    assert required_variables(model) <= names, f"{function}: missing {sorted(required_variables(model) - names)}"
    assert names <= model.env_names(), f"{function}: unknown to {model.__name__}: {sorted(names - model.env_names())}"


def _parameter_variants(translated, env: dict) -> list[dict[str, str]]:
    """The defaults, then each allowed value of every parameter this environment uses."""
    variants: list[dict[str, str]] = [{}]
    for param in sorted({r for v in env.values() for r in refs(v)} & set(translated["Parameters"])):
        for value in translated["Parameters"][param].get("AllowedValues", []):
            variants.append({param: str(value)})
    return variants


@pytest.mark.parametrize("logical_id, function", CASES)
def test_template_values_validate_under_every_allowed_parameter_value(translated, logical_id, function):
    model = settings_model(function)
    env = template_env(translated, logical_id)
    for overrides in _parameter_variants(translated, env):
        resolved = resolve_env(translated, own_variables(env), overrides)
        model.from_env(resolved)  # raises SettingsError naming the field


def test_scorer_threshold_parameters_reach_the_scoring_policy(translated):
    model = settings_model("scorer")
    env = own_variables(template_env(translated, "ScorerFunction"))
    overrides = {"NumberBlockScore": "7.5", "RangeBlocking": "false", "RangeMinReporters": "4",
                 "NumberBlockDays": "30", "PrefixBlockDays": "14", "NotSpamCooldownDays": "60"}
    policy = model.from_env(resolve_env(translated, env, overrides)).policy()
    assert (policy.number_block_score, policy.range_blocking, policy.range_min_reporters) == (7.5, False, 4)
    assert (policy.number_block_days, policy.prefix_block_days, policy.not_spam_cooldown_days) == (30, 14, 60)


def test_blocker_takes_over_stale_claims_only_after_its_own_timeout(translated):
    """A pending claim must outlive any invocation that could still be working on it."""
    model = settings_model("blocker")
    env = own_variables(template_env(translated, "BlockerFunction"))
    settings = model.from_env(resolve_env(translated, env))
    timeout = translated["Resources"]["BlockerFunction"]["Properties"]["Timeout"]
    assert settings.pending_stale_after_s > timeout + settings.lookup_settle_s


@pytest.fixture
def lambda_environment(monkeypatch):
    """os.environ as in Lambda for one function: the template's variables, nothing else of ours."""
    from spam_blocker import wiring

    def apply(model: type[BaseSettings], env: dict[str, str]) -> None:
        for name in model.env_names() | set(SECRET_VARIABLES) | {"ZOOM_WEBHOOK_SECRET_TOKEN"}:
            monkeypatch.delenv(name, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        wiring.cache_clear()

    yield apply
    wiring.cache_clear()


@pytest.mark.parametrize("logical_id, function", CASES)
def test_missing_required_variable_fails_get_deps_with_a_settings_error_naming_it(
        translated, lambda_environment, logical_id, function):
    model = settings_model(function)
    wiring_module = pytest.importorskip(f"spam_blocker.wiring.{function}",
                                        reason=f"spam_blocker.wiring.{function} not written yet")
    env = resolve_env(translated, own_variables(template_env(translated, logical_id)))
    must_have = required_variables(model) | (set(SECRET_VARIABLES) & set(env))
    assert must_have, f"{function}: nothing required?"
    with mock_aws():  # nothing may reach AWS even if the wiring got as far as building clients
        for variable in sorted(must_have):
            lambda_environment(model, {k: v for k, v in env.items() if k != variable})
            assert variable not in os.environ
            with pytest.raises(SettingsError, match=variable):
                wiring_module.get_deps()
