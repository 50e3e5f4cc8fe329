import pytest
from moto import mock_aws
from spam_blocker.observability import logger, metrics
from spam_blocker.zoom.auth import clear_token_cache


@pytest.fixture(autouse=True)
def _quiet_and_fresh():
    """Per-record INFO logs and the shared metric set are not what these tests look at: keep them quiet and
    empty; every test starts with no cached Zoom token."""
    level = logger.log_level
    logger.setLevel("ERROR")
    metrics.clear_metrics()
    clear_token_cache()
    yield
    clear_token_cache()
    metrics.clear_metrics()
    logger.setLevel(level)


@pytest.fixture
def aws():
    with mock_aws():
        yield
