"""Runs whose steps share no disk: each step in its own process, as Kubernetes runs them.

``k8s_job_executor`` starts every step as ``dagster api execute_step`` in a pod of its own; the
run worker (another pod) only hands out steps and follows the run's events in PostgreSQL. This
module does the same with processes on one host. Every "pod", the run worker's included, gets a
fresh empty working directory, ``HOME``, ``TMPDIR``, ``ALPHAFORGE_DATA_DIR`` and ``DAGSTER_HOME``
(holding only the instance's ``dagster.yaml``, as the chart's config map does), and a step's
folder is deleted as soon as its process ends: a step that read a file another step wrote would
fail. Step output goes through the I/O manager production uses (the store), models through the
MLflow server, events through the instance's PostgreSQL storage.

What a step leaves behind is recorded (``pods.jsonl`` under the scratch root) before deletion.

Run worker: ``python -m tests.support.step_pods JOB --scratch DIR [--partition K] [--config JSON]``
in a process whose environment is production's (``ALPHAFORGE_ENV=production`` and its variables).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.step_delegating import StepDelegatingExecutor, StepHandler
from dagster._core.executor.step_delegating.step_handler.base import (
    CheckStepHealthResult,
    StepHandlerContext,
)
from dagster._grpc.types import ExecuteStepArgs

from assets.partitions import add_days, days_of
from orchestration.definitions import build_defs
from tests.support.pod_node import Pod

NODE_ENV = "ALPHAFORGE_TEST_POD_NODE"  # the node's socket: where pods are started
MODULE = "tests.support.step_pods"  # also when run as __main__: steps load the job from here
POD_LOG = "pods.jsonl"
_REAPERS: list[threading.Thread] = []  # one per launched step: the run worker waits for them
# Variables that point a process at a place on disk: each pod gets its own.
POD_DIRS = {"cwd": None, "HOME": "home", "TMPDIR": "tmp", "ALPHAFORGE_DATA_DIR": "data",
            "DAGSTER_HOME": "dagster_home"}


def new_pod(root: Path, name: str, instance_yaml: str,
            base_env: dict[str, str] | None = None) -> tuple[Path, dict[str, str]]:
    """A fresh pod folder under ``root``; (its working directory, the environment it runs with:
    ``base_env``, default this process's, with the pod's own folders)."""
    pod = root / f"{name}-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ if base_env is None else base_env)
    for var, sub in POD_DIRS.items():
        path = pod / (sub or "work")
        path.mkdir(parents=True)
        if var != "cwd":
            env[var] = str(path)
    (pod / "dagster_home" / "dagster.yaml").write_text(instance_yaml)
    env["TMP"] = env["TEMP"] = env["TMPDIR"]
    env.pop("PWD", None)
    return pod / "work", env


def close_pod(cwd: Path, step: str | None, run_id: str | None, pid: int, rc: int) -> None:
    """Record what the pod of ``cwd`` left behind (in ``pods.jsonl`` next to it), then delete it."""
    pod = cwd.parent
    skip = pod / "dagster_home" / "dagster.yaml"
    left = sorted(str(p.relative_to(pod)) for p in pod.rglob("*") if p.is_file() and p != skip)
    shutil.rmtree(pod)  # the pod is gone: nothing in it reaches another step
    record = {"pod": pod.name, "run_id": run_id, "step": step, "pid": pid, "rc": rc, "left_behind": left}
    with open(pod.parent / POD_LOG, "a") as f:
        f.write(json.dumps(record) + "\n")


class PodPerStepHandler(StepHandler):
    """Launches each step as ``dagster api execute_step`` in a fresh pod folder, deleted at exit."""

    def __init__(self, scratch_root: str):
        super().__init__()
        self.root = Path(scratch_root)
        self.pods: dict[str, Pod] = {}

    @property
    def name(self) -> str:
        return "PodPerStepHandler"

    @staticmethod
    def _step_key(ctx: StepHandlerContext) -> str:
        keys = ctx.execute_step_args.step_keys_to_execute or []
        if len(keys) != 1:
            raise ValueError(f"one step per pod, got {keys}")
        return keys[0]

    def launch_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        ctx = step_handler_context
        step_key = self._step_key(ctx)
        a = ctx.execute_step_args
        # No instance_ref: the step builds its instance from its own DAGSTER_HOME, as a pod does,
        # rather than from paths on the run worker's disk.
        args = ExecuteStepArgs(job_origin=a.job_origin, run_id=a.run_id, step_keys_to_execute=[step_key],
                               instance_ref=None, retry_mode=a.retry_mode, known_state=a.known_state,
                               should_verify_step=a.should_verify_step)
        instance_yaml = (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").read_text()
        cwd, env = new_pod(self.root, f"step-{step_key}", instance_yaml)
        env.update({e["name"]: e["value"] for e in args.get_command_env()})
        command = list(args.get_command_args(skip_serialized_namedtuple=True))
        if command[-2:] != ["api", "execute_step"]:
            raise ValueError(f"unexpected step command {command}")
        # the cluster's log collector: outside the pod, which is deleted
        pod = Pod(os.environ[NODE_ENV], "dagster", command[-2:], str(cwd), env,
                  str(self.root / f"{cwd.parent.name}.log"))
        self.pods[step_key] = pod
        reaper = threading.Thread(target=lambda: close_pod(cwd, step_key, a.run_id, pod.pid, pod.wait()))
        reaper.start()
        _REAPERS.append(reaper)
        yield DagsterEvent.step_worker_starting(
            ctx.get_step_context(step_key), message=f"Step {step_key} in pod {cwd.parent.name}.",
            metadata={"pid": dg.MetadataValue.text(str(pod.pid))})

    def check_step_health(self, step_handler_context: StepHandlerContext) -> CheckStepHealthResult:
        pod = self.pods.get(self._step_key(step_handler_context))
        if pod is None:
            return CheckStepHealthResult.unhealthy("no pod for this step")
        if pod.returncode not in (None, 0):  # set by the pod's reaper thread
            return CheckStepHealthResult.unhealthy(f"step pod exited with {pod.returncode}")
        return CheckStepHealthResult.healthy()

    def terminate_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        step_key = self._step_key(step_handler_context)
        pod = self.pods.get(step_key)
        if pod is not None and pod.returncode is None:
            os.kill(pod.pid, signal.SIGTERM)
        yield DagsterEvent.engine_event(step_handler_context.get_step_context(step_key),
                                        message=f"Terminated the pod of {step_key}",
                                        event_specific_data=EngineEventData())


@dg.executor(name="pod_per_step", config_schema={"scratch_root": str, "max_concurrent": int},
             requirements=dg.multiple_process_executor_requirements())
def pod_per_step_executor(init_context: dg.InitExecutorContext) -> StepDelegatingExecutor:
    """Every step in its own process and empty folders (k8s_job_executor's model, on one host)."""
    cfg = init_context.executor_config
    return StepDelegatingExecutor(PodPerStepHandler(str(cfg["scratch_root"])), retries=RetryMode.DISABLED,
                                  max_concurrent=int(str(cfg["max_concurrent"])), sleep_seconds=0.2,
                                  check_step_health_interval_seconds=1)


# The code location production loads, with this executor in place of the pods' one.
defs = dg.Definitions.merge(build_defs(), dg.Definitions(executor=pod_per_step_executor))


def run_job(job: str, scratch: Path, partition: str | None, config: dict[str, Any]) -> bool:
    """Execute ``job`` here (the run worker) with every step in its own pod; True on success."""
    recon = ReconstructableRepository.for_module(MODULE, "defs").get_reconstructable_job(job)
    tags: dict[str, str] = {}
    if partition:
        tags = dict(defs.get_job_def(job).get_tags_for_partition_key(partition, None))
    run_config = {**config, "execution": {"config": {"scratch_root": str(scratch), "max_concurrent": 2}}}
    with dg.DagsterInstance.get() as instance:
        if partition:  # a day exists once something ingests it, as the schedule and CLI add it
            add_days(instance, days_of([partition]))
        with dg.execute_job(recon, instance, run_config=run_config, tags=tags) as result:
            success = result.success
    for reaper in _REAPERS:  # every pod recorded and deleted before the run worker exits
        reaper.join()
    return success


def main() -> None:
    """Command line of the run worker."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("job")
    ap.add_argument("--scratch", type=Path, required=True)
    ap.add_argument("--partition")
    ap.add_argument("--config", default="{}")
    args = ap.parse_args()
    sys.exit(0 if run_job(args.job, args.scratch, args.partition, json.loads(args.config)) else 1)


if __name__ == "__main__":
    main()
