"""DAGs for the bad-input table: every coerced field of the operators and the sensor, rendered from params.

``wx_bad_inputs_templated`` has one task per row of ``TEMPLATED_CASES``: the field is
``"{{ params.<case> }}"`` and the param holds the bad value, so Airflow's own rendering turns it into the
string a real DAG would produce. ``wx_bad_inputs_native`` does the same with
``render_template_as_native_obj=True`` (values keep their Python type: ``2.5``, ``True``, ``123``). Every
task must fail before any request; the test reads each task's exception through an Airflow listener.

``wx_coerce_ok`` renders the accepted spellings (``"False"``, ``"no"``, ``"0"``, a list rendered to a string,
``"None"`` in optional fields) and submits them; the test checks what the emulator received.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator
from airflow_provider_wanxiang.sensors.wanxiang import WanxiangTaskSensor
from tests.images import data_uri, png_bytes, png_data_uri

START = pendulum.datetime(2026, 1, 1, tz="UTC")
IMAGE = png_data_uri(480, 400)
OTHER_IMAGE = png_data_uri(400, 480)
TRUNCATED_PNG = data_uri(png_bytes(480, 400)[:600])
TINY_PNG = png_data_uri(100, 100)
GIF_URI = "data:image/gif;base64,R0lGODlhAQABAAAAACw="


# case id: (operator, field, param value, field named in the error, text in the error)
TEMPLATED_CASES: dict[str, tuple[str, str, Any, str, str]] = {
    "prompt_none": ("submit", "prompt", None, "prompt", "prompt is required but is 'None'"),
    "prompt_blank": ("submit", "prompt", "   ", "prompt", "prompt is required but is blank"),
    "images_none": ("submit", "images", None, "images", "images is required but is 'None'"),
    "images_broken_list": ("submit", "images", "['a.png'", "images", "looks like a list but is not"),
    "images_list_of_ints": ("submit", "images", "[1, 2]", "images", "looks like a list but is not"),
    "images_empty_list": ("submit", "images", [], "images", "0 images given"),
    "images_four": ("submit", "images", [IMAGE] * 4, "images", "4 images given"),
    "images_ftp": (
        "submit",
        "images",
        "ftp://files.example.com/a.png",
        "images[0]",
        "ftp:// is not supported",
    ),
    "images_gopher": ("submit", "images", "gopher://example.com/a.png", "images[0]", "gopher:// is not"),
    "images_oss_bucket": (
        "submit",
        "images",
        "oss://my-bucket/a.png",
        "images[0]",
        "oss:// is not supported",
    ),
    "images_ftp_second": (
        "submit",
        "images",
        [IMAGE, "ftp://h/b.png"],
        "images[1]",
        "ftp:// is not supported",
    ),
    "images_missing_file": ("submit", "images", "/no/such/dir/a.png", "images[0]", "does not exist"),
    "images_truncated": ("submit", "images", [TRUNCATED_PNG], "images[0]", "truncated or corrupt"),
    "images_tiny": ("submit", "images", [TINY_PNG], "images[0]", "below the minimum of 384 px"),
    "images_gif": ("submit", "images", [GIF_URI], "images[0]", "'image/gif' is not supported"),
    "images_bad_base64": ("submit", "images", ["data:image/png;base64,@@@"], "images[0]", "not valid base64"),
    "images_bad_url": ("submit", "images", ["https://"], "images[0]", "not a well-formed http(s) URL"),
    "n_float": ("submit", "n", "2.5", "n", "'2.5' is not an integer"),
    "n_word": ("submit", "n", "abc", "n", "'abc' is not an integer"),
    "n_bool": ("submit", "n", True, "n", "'True' is not an integer"),
    "n_zero": ("submit", "n", 0, "n", "0 is below the minimum of 1"),
    "n_five": ("submit", "n", 5, "n", "5 is above the maximum of 4"),
    "n_none": ("submit", "n", None, "n", "'None' is not an integer"),
    "size_small": ("submit", "size", "100*100", "size", "below the minimum"),
    "size_word": ("submit", "size", "big", "size", "is not of the form 'W*H'"),
    "size_ratio": ("submit", "size", "2000*400", "size", "aspect ratio 2000:400"),
    "seed_negative": ("submit", "seed", -1, "seed", "-1 is below the minimum of 0"),
    "seed_huge": ("submit", "seed", 2147483648, "seed", "above the maximum of 2147483647"),
    "seed_float": ("submit", "seed", 1.5, "seed", "'1.5' is not an integer"),
    "seed_bool": ("submit", "seed", True, "seed", "'True' is not an integer"),
    "prompt_extend_word": ("submit", "prompt_extend", "maybe", "prompt_extend", "'maybe' is not a boolean"),
    "prompt_extend_none": ("submit", "prompt_extend", None, "prompt_extend", "'None' is not a boolean"),
    "watermark_word": ("submit", "watermark", "maybe", "watermark", "'maybe' is not a boolean"),
    "watermark_two": ("submit", "watermark", 2, "watermark", "'2' is not a boolean"),
    "watermark_none": ("submit", "watermark", None, "watermark", "'None' is not a boolean"),
    "model_other": ("submit", "model", "wan2.6-t2i", "model", "is not supported by this endpoint"),
    "model_none": ("submit", "model", None, "model", "model is required but is 'None'"),
    "require_all_word": ("submit", "require_all_images", "perhaps", "require_all_images", "not a boolean"),
    "sensor_id_none": ("sensor", "wanxiang_task_id", None, "wanxiang_task_id", "is required but is 'None'"),
    "sensor_id_blank": ("sensor", "wanxiang_task_id", " ", "wanxiang_task_id", "is required but is blank"),
    "sensor_require_all": ("sensor", "require_all_images", "maybe", "require_all_images", "not a boolean"),
    "copy_id_none": ("copy", "wanxiang_task_id", None, "wanxiang_task_id", "is required but is 'None'"),
    "copy_overwrite": ("copy", "overwrite", "sometimes", "overwrite", "not an overwrite policy"),
    "copy_fail_on_failure": (
        "copy",
        "fail_on_image_failure",
        "maybe",
        "fail_on_image_failure",
        "not a boolean",
    ),
    "copy_write_sidecar": ("copy", "write_sidecar", "2", "write_sidecar", "'2' is not a boolean"),
}

# With render_template_as_native_obj=True values keep their type, so the client's type checks are reached.
NATIVE_CASES: dict[str, tuple[str, str, Any, str, str]] = {
    "native_n_float": ("submit", "n", 2.5, "n", "2.5 is not an integer"),
    "native_n_bool": ("submit", "n", True, "n", "True is not an integer"),
    "native_seed_bool": ("submit", "seed", True, "seed", "True is not an integer"),
    "native_watermark_int": ("submit", "watermark", 1, "watermark", "1 is not a boolean"),
    "native_negative_prompt_int": (
        "submit",
        "negative_prompt",
        123,
        "negative_prompt",
        "123 is not a string",
    ),
    "native_prompt_int": ("submit", "prompt", 42, "prompt", "42 is not a string"),
    "native_images_int": ("submit", "images", 42, "images", "42 is not allowed (allowed: a list of 1-3"),
    "native_size_int": ("submit", "size", 1024, "size", "1024 is not of the form 'W*H'"),
    "native_copy_overwrite_int": ("copy", "overwrite", 2, "overwrite", "2 is not an overwrite policy"),
}

_SUBMIT_DEFAULTS: dict[str, Any] = {"prompt": "Make the sky orange", "images": [IMAGE]}


def _task(case: str, operator: str, field: str) -> Any:
    template = f"{{{{ params.{case} }}}}"
    if operator == "submit":
        kwargs = {**_SUBMIT_DEFAULTS, field: template}
        if field == "require_all_images":
            kwargs["wait_for_completion"] = True
        return WanxiangSubmitOperator(task_id=case, **kwargs)
    if operator == "sensor":
        kwargs = {"wanxiang_task_id": "20260101-some-task", field: template}
        return WanxiangTaskSensor(task_id=case, poke_interval=0.2, **kwargs)
    kwargs = {
        "wanxiang_task_id": "20260101-some-task",
        "destination": "/tmp/wx-never-written",
        field: template,
    }
    return WanxiangCopyResultsOperator(task_id=case, **kwargs)


for _dag_id, _cases, _native in (
    ("wx_bad_inputs_templated", TEMPLATED_CASES, False),
    ("wx_bad_inputs_native", NATIVE_CASES, True),
):
    with DAG(
        _dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        params={case: spec[2] for case, spec in _cases.items()},
        render_template_as_native_obj=_native,
        default_args={"retries": 0},
    ) as dag:
        for _case, (_operator, _field, *_rest) in _cases.items():
            _task(_case, _operator, _field)
    globals()[dag.dag_id] = dag


# -- accepted spellings: these are submitted, and the test reads what the emulator received ------------------
OK_CASES: dict[str, dict[str, Any]] = {
    "wm_false": {"watermark": False, "prompt_extend": "False"},
    "wm_no": {"watermark": "no", "prompt_extend": "NO"},
    "wm_zero": {"watermark": "0", "prompt_extend": " 0 "},
    "wm_yes": {"watermark": "yes", "prompt_extend": "1"},
    "images_python_list": {"images": [IMAGE, OTHER_IMAGE]},  # renders as "['data:...', 'data:...']"
    "optional_none": {"negative_prompt": None, "size": None, "seed": None, "n": "2"},
}

with DAG(
    "wx_coerce_ok",
    schedule=None,
    start_date=START,
    catchup=False,
    params={f"{case}__{field}": value for case, spec in OK_CASES.items() for field, value in spec.items()},
) as dag:
    for _case, _spec in OK_CASES.items():
        _kwargs: dict[str, Any] = {**_SUBMIT_DEFAULTS, "prompt": f"case {_case}"}
        _kwargs.update({field: f"{{{{ params.{_case}__{field} }}}}" for field in _spec})
        WanxiangSubmitOperator(task_id=_case, **_kwargs)
    WanxiangSubmitOperator(
        task_id="images_json_list",
        prompt="case images_json_list",
        images="{{ params.images_python_list__images | tojson }}",
    )

    @task
    def upstream_says_no() -> str:
        return "no"

    # An XComArg is resolved at run time, so nothing may check (or stringify) it at parse time.
    WanxiangSubmitOperator(
        task_id="from_xcom_arg", prompt="case from_xcom_arg", images=[IMAGE], watermark=upstream_says_no()
    )
globals()[dag.dag_id] = dag
