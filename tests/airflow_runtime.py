"""Run DAGs with real Airflow in tests: a migrated metadata DB and ``dag.test()``, on 3.1 and on 3.3.

``dag.test()`` runs tasks in this process and triggers inline (no triggerer), through Airflow's real task
runner, XCom and serialisation. It returns a failed DagRun rather than raising, so callers assert on states.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _dag_bag() -> Any:
    """Migrate the session's DB once and register every DAG of the session's DAGs folder."""
    from airflow.configuration import conf
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.utils import db

    try:
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag, sync_bag_to_db  # type: ignore[no-redef]

    db.initdb()
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    return bag


def get_dag(dag_id: str) -> Any:
    dag = _dag_bag().get_dag(dag_id)
    assert dag is not None, f"DAG {dag_id} not found in the DAGs folder"
    return dag


def run_dag(dag_id: str, **kwargs: Any) -> Any:
    """``dag.test()`` the DAG and return its DagRun (state not asserted here)."""
    return get_dag(dag_id).test(**kwargs)


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from airflow_provider_wanxiang.compat import deserialize

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else deserialize(row.value)


def rendered_fields(dag_run: Any) -> dict[str, Any]:
    """The rendered template fields Airflow stored for each task of the run (what the UI shows)."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(RenderedTaskInstanceFields).filter_by(
            dag_id=dag_run.dag_id, run_id=dag_run.run_id
        )
        return {row.task_id: row.rendered_fields for row in rows}
