"""A catalogue of edits in one task: items, the durable ledger, the submit-and-store loop, the report.

The pieces, one concern each: :mod:`.items` (load and validate every item), :mod:`.ledger` (what was
submitted and stored, durable in the destination), :mod:`.engine` (the loop: window, pacing, resubmits,
money guard), :mod:`.outputs` (where images go, storing them), :mod:`.report` (report file and XCom
summary), :mod:`.progress` (the log line). The operator is
:class:`airflow_provider_wanxiang.operators.batch.WanxiangBatchEditOperator`; its trigger is
:class:`airflow_provider_wanxiang.triggers.batch.WanxiangBatchTrigger`.
"""
