"""Apache Airflow provider for Alibaba Cloud Model Studio Wanxiang image editing (``wan2.5-i2i-preview``).

Kept deliberately empty apart from the version: importing the package must stay cheap, because Airflow
imports every provider's top-level package while it discovers providers, and the wire client in
:mod:`airflow_provider_wanxiang.client` must be importable without Airflow at all.
"""

from __future__ import annotations

__version__ = "0.1.0"
