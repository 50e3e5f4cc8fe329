"""bench_blocker's scenarios with one operating-system process per blocker instance, as on Lambda.

In the thread harness every instance shares one interpreter (and its GIL) with moto and the emulator, so
a thread can stall tens of milliseconds between the Zoom client's last deadline check and the moment the
emulator stamps the request: a jitter of the harness, which real Lambda containers (each with its own
CPU) do not have. Here each instance is a process of its own, spawned fresh like a cold container:

    parent      the Zoom emulator behind a real socket (Pro limits, system clock) and the watch loop
    moto        `ThreadedMotoServer` in a process of its own (DynamoDB over HTTP, made atomic per call)
    queue       the benchmark's SimQueue served by a multiprocessing manager process
    instances   N processes, each with the real wiring (`build_deps`) and handler, its own ZoomClient
                (real HTTP to the emulator, RTT_S added on the way back) and DynamoDB client

Figures are computed in the parent from the emulator's request log, exactly as in the thread harness.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import socket
import sys
import time
from multiprocessing.managers import BaseManager
from typing import Any

_QUEUE: Any = None


def _the_queue() -> Any:
    global _QUEUE
    if _QUEUE is None:
        from benchmarks.bench_blocker import SimQueue

        _QUEUE = SimQueue()
    return _QUEUE


class QueueManager(BaseManager):
    pass


QueueManager.register("queue", callable=_the_queue)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fake_aws_env(endpoint: str) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}


def _moto_main(port: int, ready: Any) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    from local.moto_locks import make_moto_thread_safe

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the terminal
    make_moto_thread_safe()  # real DynamoDB is atomic per call; moto's threaded server is not by itself
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    ready.set()
    while True:
        time.sleep(3600)


def _instance_main(n: int, options: dict[str, Any], ready: Any, go: Any, stop: Any) -> None:
    """One blocker instance (or one naive worker): cold start, then the receive loop until `stop`."""
    os.environ.update(_fake_aws_env(options["aws_endpoint"]))
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the process's stdout for its whole life
    import threading

    import boto3
    import httpx
    from spam_blocker.observability import logger
    from spam_blocker.zoom.client import ZoomClient

    from benchmarks.bench_blocker import ACCOUNT, RTT_S, LatentTransport, _naive_worker, _smart_worker

    logger.setLevel("ERROR")
    manager = QueueManager(address=options["queue_address"], authkey=options["authkey"])
    manager.connect()
    queue = manager.queue()
    zoom = ZoomClient.create(f"{options['zoom_url']}/v2", f"{options['zoom_url']}/oauth/token", *ACCOUNT,
                             transport=LatentTransport(httpx.HTTPTransport(), RTT_S))
    stopping = threading.Event()
    if options["naive"]:
        def work() -> None:
            go.wait()
            _naive_worker(queue, zoom, stopping)
    else:
        from spam_blocker.config.blocker import BlockerSettings
        from spam_blocker.wiring.blocker import build_deps, warm_up

        settings = BlockerSettings.from_env(options["settings_env"])
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        deps = build_deps(settings, dynamodb=ddb, sqs=None, zoom=zoom, account=ACCOUNT[0], queue=queue,
                          dead_letters=queue, rng=random.Random(options["seed"] + n))

        def work() -> None:
            warm_up(deps)
            ready.release()
            go.wait()
            _smart_worker(queue, deps, stopping, lambda _deps: None)

    if options["naive"]:
        ready.release()
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    stop.wait()
    stopping.set()
    thread.join(5)


@contextlib.contextmanager
def _moto_server(ctx: Any) -> Any:
    port = _free_port()
    ready = ctx.Event()
    process = ctx.Process(target=_moto_main, args=(port, ready), daemon=True, name="bench-moto")
    process.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("moto_server did not start within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.join(5)


def run_scenario_processes(scenario: Any, seed: int) -> dict[str, Any]:
    import boto3
    from spam_blocker.adapters.dynamo_blocks import DynamoBlockStore
    from spam_blocker.adapters.tables import BLOCKS_TABLE, RATE_LIMIT_TABLE, create_table
    from spam_blocker.clock import SystemClock
    from spam_blocker.domain.block_request import BlockKey
    from spam_blocker.domain.block_state import BlockRecord, BlockState, tag_comment

    from benchmarks.bench_blocker import (
        COVERING_PREFIX,
        PLAN,
        _inject_faults,
        scenario_figures,
        scenario_settings_env,
        watch,
        workload,
    )
    from local.emulator import ZoomEmulator
    from local.emulator.server import running

    ctx = multiprocessing.get_context("spawn")
    bodies, numbers = workload(scenario.unique, scenario.covered, seed)
    emulator = ZoomEmulator(plan=PLAN, clock=SystemClock(), seed=seed)
    if scenario.faults:
        _inject_faults(emulator)
    authkey = os.urandom(16)
    manager = QueueManager(address=("127.0.0.1", 0), authkey=authkey, ctx=ctx)
    manager.start()
    with manager, _moto_server(ctx) as aws_endpoint, running(emulator) as server:
        queue = manager.queue()
        for text in bodies:
            queue.send(text)
        ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=aws_endpoint,
                           aws_access_key_id="bench", aws_secret_access_key="bench")
        create_table(ddb, "blocks", BLOCKS_TABLE)
        create_table(ddb, "rate", RATE_LIMIT_TABLE)
        prefix_id = emulator.add_entry(COVERING_PREFIX, match_type="prefix", comment=tag_comment("benchmark prefix"))
        DynamoBlockStore(ddb, "blocks").transition(None, BlockRecord(
            BlockKey("prefix", COVERING_PREFIX, "inbound"), BlockState.ACTIVE, zoom_id=prefix_id))
        options = {"aws_endpoint": aws_endpoint, "zoom_url": server.base_url, "queue_address": manager.address,
                   "authkey": authkey, "naive": scenario.naive, "seed": seed,
                   "settings_env": scenario_settings_env(scenario)}
        ready, go, stop = ctx.Semaphore(0), ctx.Event(), ctx.Event()
        processes = [ctx.Process(target=_instance_main, args=(n, options, ready, go, stop), daemon=True,
                                 name=f"bench-blocker-{n}") for n in range(scenario.workers)]
        for p in processes:
            p.start()
        for _ in processes:  # every instance cold-started (imports, OAuth token, limiter window) before work
            if not ready.acquire(timeout=120):
                raise RuntimeError("a blocker instance did not start within 120 s")
        started = SystemClock().now()
        t0 = time.monotonic()
        go.set()
        all_blocked_s = watch(queue, emulator, numbers, t0, scenario.deadline_s)
        stop.set()
        for p in processes:
            p.join(10)
            if p.is_alive():
                p.terminate()
        return scenario_figures(scenario, emulator, numbers, started, t0, all_blocked_s, queue, processes=True)
