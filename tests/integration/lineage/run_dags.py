"""Run DAGs with ``dag.test()`` in a fresh process whose Airflow has OpenLineage switched on.

OpenLineage's plugin decides once per process, when Airflow loads plugins, whether its listener and hook
lineage reader are registered; the test session has long loaded them without it. So the lineage tests run
their DAGs here, in a child process with its own AIRFLOW_HOME and the file transport configured by the
parent (environment), and read the events file afterwards.

Usage: ``python -m tests.integration.lineage.run_dags '[["dag_id", {conf}], ...]' RESULTS.jsonl``; writes one
JSON line per run (a file: Airflow logs to stdout): dag id, run id, state, task states, each task's
``return_value``; then one line with what the hook lineage collector gathered over all runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.airflow_runtime import run_dag, task_states, xcom


def main(argv: list[str]) -> None:
    lines = []
    for dag_id, conf in json.loads(argv[1]):
        dag_run = run_dag(dag_id, run_conf=conf)
        states = task_states(dag_run)
        result = {
            "dag_id": dag_id,
            "run_id": dag_run.run_id,
            "state": str(dag_run.state),
            "tasks": states,
            "xcom": {task_id: xcom(dag_run, task_id) for task_id in states},
        }
        lines.append(json.dumps(result))
    lines.append(json.dumps({"hook_lineage": _hook_lineage()}))
    Path(argv[2]).write_text("\n".join(lines) + "\n")


def _hook_lineage() -> dict[str, list[list[str]]]:
    """What Airflow's hook lineage collector holds after the runs (``dag.test()`` runs the tasks in this
    process): ``[asset URI, class of the reporting context]`` per input and output."""
    from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

    collected = get_hook_lineage_collector().collected_assets
    return {
        side: [[info.asset.uri, type(info.context).__name__] for info in getattr(collected, side)]
        for side in ("inputs", "outputs")
    }


if __name__ == "__main__":
    main(sys.argv)
