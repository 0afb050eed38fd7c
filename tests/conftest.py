"""Session-wide test set-up: an isolated, fresh AIRFLOW_HOME before anything imports Airflow.

Airflow reads its configuration at import time, so the environment is prepared at the top of this module
(pytest imports conftest.py before any test module). A reused metadata DB can hide DAG-discovery problems,
so every test session gets its own home under the system temp dir.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image_host import ImageHost, serving_images

_HOME = Path(tempfile.mkdtemp(prefix="wanxiang-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# dag.test() only runs DAGs whose file is under the DAGs folder: the example DAGs and the test DAGs are
# copied into the session's own folder.
_REPO = Path(__file__).resolve().parent.parent
_DAGS = _HOME / "dags"
shutil.copytree(_REPO / "dags", _DAGS)  # example DAGs with their sample images
for _source in sorted((_REPO / "tests" / "dags").glob("*.py")):
    shutil.copy(_source, _DAGS / _source.name)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_DAGS)
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
# Nothing in the suite may talk to the real service, even by accident.
for _var in ("DASHSCOPE_API_KEY", "DASHSCOPE_HTTP_BASE_URL"):
    os.environ.pop(_var, None)

# Airflow configures logging on its first import, replacing the root logger's handlers. Imported here, once,
# before any test: were it first imported inside a test, it would drop the handlers pytest's ``caplog``
# attaches to that test (a test then passed or failed depending on which tests ran before it).
import airflow  # noqa: E402,F401


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's Airflow home (DB, logs, copied DAGs) so runs do not pile up in the temp dir."""
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def image_host() -> Iterator[ImageHost]:
    """Loopback server for http(s) image inputs: ``image_host.add(name, data[, status])`` gives the URL."""
    with serving_images() as host:
        yield host
