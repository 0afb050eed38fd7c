"""Sphinx configuration: Markdown pages (MyST) plus an API reference generated from the docstrings."""

from __future__ import annotations

import os
import tempfile

# Importing the provider imports Airflow, which wants a home; never touch the user's real one.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="wanxiang-docs-airflow-home-"))

project = "airflow-provider-wanxiang"
author = "airflow-provider-wanxiang developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
# _snippets/: parts included by other pages ({include}), not pages of their own.
exclude_patterns = ["_build", "_snippets"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
html_theme = "alabaster"
suppress_warnings = ["myst.xref_missing"]
