"""``python -m airflow_provider_wanxiang.emulator`` — same as the ``wanxiang-emulator`` script."""

from __future__ import annotations

import sys

from airflow_provider_wanxiang.emulator.cli import main

sys.exit(main())
