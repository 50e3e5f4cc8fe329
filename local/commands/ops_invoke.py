"""How the ops commands (backfill, expire, reconcile, unblock, explain) run a function: the same handler code
with the same settings as the deployed function.

- By default in process: the function's `lambda_handler` with the environment as its settings (AWS
  credentials, region and `AWS_ENDPOINT_URL` are boto3's own, so it works against a deployed stack or a
  `moto_server`). Zoom's credentials are checked first, before any work.
- With `--function-name NAME`: the deployed Lambda, through boto3 `lambda.invoke` (RequestResponse).

Exit codes: 0 ok; 2 bad usage or input (a setting missing, a payload refused, no such function);
3 Zoom unreachable or credentials refused; 1 any other failure. Messages go to stderr; the function's
answer (JSON, or the command's text) to stdout. The function's own logs and metrics are shown on stderr with
`--verbose`, dropped otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ZOOM = 0, 1, 2, 3
USAGE_ERRORS = frozenset({"SettingsError", "InvalidInvocation", "BackfillInputError", "UnblockInputError",
                          "ExplainInputError", "ListFileError"})
ZOOM_ERRORS = frozenset({"ZoomAuthFailed", "ZoomTransportError", "ZoomServerError", "ZoomBadResponse", "SecretError"})
LOCAL_TIMEOUT_S = 7 * 86_400  # in process there is no Lambda deadline: work until done or a limit pauses it

Handler = Callable[..., Any]


class CommandFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def add_invoke_arguments(parser: argparse.ArgumentParser, function: str) -> None:
    parser.add_argument("--function-name", metavar="NAME",
                        help=f"invoke the deployed {function} Lambda (boto3 lambda.invoke) instead of running the "
                             "same code in process with this environment")
    parser.add_argument("--verbose", action="store_true", help="show the function's logs and metrics on stderr")


def exit_code_for(error_type: str) -> int:
    if error_type in USAGE_ERRORS:
        return EXIT_USAGE
    if error_type in ZOOM_ERRORS:
        return EXIT_ZOOM
    return EXIT_FAILED


def invoke(args: argparse.Namespace, *, function: str, event: dict[str, Any], uses_zoom: bool = True,
           lambda_client: Any = None, **handler_kwargs: Any) -> dict[str, Any]:
    """The answer of `function` (expirer, reconciler, backfill: `functions/<function>/handler.py` with
    `spam_blocker/wiring/<function>.py`); raises CommandFailed with the exit code and a message."""
    if getattr(args, "function_name", None):
        return _invoke_deployed(args.function_name, event, lambda_client)
    return _invoke_here(function, event, uses_zoom, args.verbose, handler_kwargs)


def _invoke_here(function: str, event: dict[str, Any], uses_zoom: bool, verbose: bool,
                 handler_kwargs: dict[str, Any]) -> dict[str, Any]:
    import importlib

    from local.esm_loop import LambdaContext

    with _function_output(verbose):
        try:
            handler: Handler = importlib.import_module(f"functions.{function}.handler").lambda_handler
            settings = importlib.import_module(f"spam_blocker.wiring.{function}").get_settings()
            if uses_zoom:
                _check_zoom(settings)
            context = LambdaContext(function_name=f"spam-blocker-{function}", timeout_s=LOCAL_TIMEOUT_S)
            return handler(event, context, **handler_kwargs)
        except CommandFailed:
            raise
        except Exception as exc:  # mapped to an exit code by type; the message is the error's own
            raise CommandFailed(exit_code_for(type(exc).__name__), _describe(exc)) from exc


def _check_zoom(settings: Any) -> None:
    from spam_blocker.wiring.zoom import get_zoom_client

    get_zoom_client(settings).check_credentials()


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    if name in ("ZoomAuthFailed",):
        return f"Zoom refused the credentials: {exc}"
    if name in ZOOM_ERRORS:
        return f"Zoom is unreachable: {exc}"
    if name == "SettingsError" and "_TABLE: Field required" in str(exc):
        return (f"{exc}\n  the ops commands work on a deployed stack's tables (or a moto_server's): set these "
                "variables as docs/operations.md shows, or add --function-name to invoke the deployed function. A "
                "local `spam-blocker run` keeps no tables after it ends: its --summary-json holds each block's "
                "reason and evidence.")
    if name in USAGE_ERRORS:
        return str(exc)
    if type(exc).__module__.startswith("botocore"):
        return f"AWS: {exc}"
    return f"{name}: {exc}"


def _invoke_deployed(function_name: str, event: dict[str, Any], client: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    if client is None:
        import boto3
        from botocore.exceptions import NoRegionError

        try:
            client = boto3.client("lambda")
        except NoRegionError:
            raise CommandFailed(EXIT_USAGE, "--function-name needs the AWS region of the deployed stack: set "
                                "AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)") from None
    try:
        response = client.invoke(FunctionName=function_name, InvocationType="RequestResponse",
                                 Payload=json.dumps(event).encode())
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        usage = code in ("ResourceNotFoundException", "InvalidParameterValueException")
        raise CommandFailed(EXIT_USAGE if usage else EXIT_FAILED, f"lambda.invoke {function_name}: {exc}") from None
    except BotoCoreError as exc:
        raise CommandFailed(EXIT_FAILED, f"lambda.invoke {function_name}: {exc}") from None
    raw = response["Payload"].read()
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        raise CommandFailed(EXIT_FAILED, f"{function_name} answered something that is not JSON: {raw[:200]!r}") from None
    if response.get("FunctionError"):
        error = answer if isinstance(answer, dict) else {}
        error_type = str(error.get("errorType", "Error"))
        message = str(error.get("errorMessage", raw[:500]))
        raise CommandFailed(exit_code_for(error_type), f"{function_name} failed: {error_type}: {message}")
    if not isinstance(answer, dict):
        raise CommandFailed(EXIT_FAILED, f"{function_name} answered {answer!r}, not an object")
    return answer


@contextlib.contextmanager
def _function_output(verbose: bool) -> Iterator[None]:
    """The function's logs (Powertools Logger on stdout) and EMF metrics (print) go to stderr with
    --verbose, nowhere otherwise: stdout is for the command's answer."""
    from spam_blocker.observability import logger

    from local.log_streams import point

    handler = logger.registered_handler
    old_stream = getattr(handler, "stream", None)
    old_level = logger.log_level
    sink = sys.stderr if verbose else io.StringIO()
    if hasattr(handler, "setStream"):
        point(handler, sink)
    logger.setLevel(logging.INFO if verbose else logging.ERROR)
    try:
        with contextlib.redirect_stdout(sink), warnings.catch_warnings():
            if not verbose:  # an ops command that wrote nothing has no metrics: Powertools warns about that
                warnings.filterwarnings("ignore", message="No application metrics to publish")
            yield
    finally:
        if old_stream is not None and hasattr(handler, "setStream"):
            point(handler, old_stream)
        logger.setLevel(old_level)


def fail(error: CommandFailed, command: str) -> int:
    print(f"{command}: {error.message}", file=sys.stderr)
    return error.code


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))
