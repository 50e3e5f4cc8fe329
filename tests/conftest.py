import os

# No test may reach real AWS: fixed fake credentials and region before any boto3 client exists.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ZoomSpamBlocker")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "zoom-spam-blocker")

# Real SQS/DynamoDB calls are atomic; moto's in-process backends are not under threads (see the module).
from local.moto_locks import make_moto_thread_safe  # noqa: E402

make_moto_thread_safe()

# Property tests are deterministic by default (the same examples on every run, so `make test` never turns
# red on an example nobody saw before); HYPOTHESIS_PROFILE=explore searches afresh, as a bug hunt.
from hypothesis import settings  # noqa: E402

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
