"""zoom-spam-blocker: the common package shared by every Lambda function (and shipped as the layer).

Dependency rule: handlers -> wiring -> services -> domain. `services` use `ports`, implemented by
`adapters` (boto3) and `zoom` (httpx). `domain` and `services` never import boto3/httpx, never read
os.environ or the wall clock.
"""
