"""Operator extra link from an Airflow task to its remote task in the Model Studio console."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

#: XCom key under which the submit operator pushes the console URL, before anything else can fail.
CONSOLE_URL_XCOM_KEY = "wanxiang_console_url"


class WanxiangTaskLink(BaseOperatorLink):
    """Link to the remote task in the Model Studio console (pushed to XCom right after submission)."""

    name = "Wanxiang task"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        url = XCom.get_value(key=CONSOLE_URL_XCOM_KEY, ti_key=ti_key)
        return str(url) if url else ""
