"""The server's words: error codes, HTTP statuses and exact message strings.

Every string the real service is documented to send is copied here verbatim (typos such as "occured"
and the full-width exclamation mark included), so clients are tested against what they will really
parse. Strings the reference does not document are marked ``# approx`` and listed in docs/emulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- documented strings (reference sections 4 and 6) -------------------------------------------------
NO_API_KEY = "No API-key provided."
INVALID_API_KEY = "Invalid API-key provided."
SYNC_NOT_SUPPORTED = "current user api does not support synchronous calls."
ILLEGAL_JSON = "The input parameter requires json format."
EMPTY_MODEL = 'Required parameter "model" missing from request.'
EMPTY_INPUT = "Required input parameter missing from request."
MODEL_NOT_EXIST = "Model not exist."
URL_ERROR = "url error, please check url\uff01"  # full-width "!"
BODY_INVALID = "Required body invalid, please check the request body format."
PAYLOAD_TOO_LARGE = "Payload Too Large."
DOWNLOAD_FAILED = "Failed to download multimodal content."
DOWNLOAD_TIMEOUT = "Download the media resource timed out during the data inspection process."
DOWNLOAD_UNABLE = "Unable to download the media resource during the data inspection process."
DOWNLOAD_FORBIDDEN = (
    "Don't have authorization to access the media resource during the data inspection process."
)
DECODE_FAILED = "Failed to decode the image during the data inspection."
FORMAT_UNSUPPORTED = "The media format is not supported or incorrect for the data inspection."
IMAGE_SIZE_UNSUPPORTED = "The image size is not supported for the data inspection."
DATA_URI_TOO_LARGE = "Exceeded limit on max bytes per data-uri item : {limit}"
INVALID_URL = "Invalid URL provided in your request."
CANCEL_NOT_PENDING = "Failed to cancel the task, please confirm if the task is in PENDING status."
RATE_LIMITED = "Requests rate limit exceeded, please try again later."
THROTTLED = "Requests throttling triggered."
INTERNAL_ERROR = "An internal error has occured, please try again later or contact service support."
OUTPUT_INSPECTION = "Output data may contain inappropriate content."
METHOD_NOT_SUPPORTED = "Request method '{method}' is not supported."
POLICY_EXPIRED = "Invalid according to Policy: Policy expired."

# --- approximations (the reference documents the code but not the per-parameter text) --------------
SERVICE_UNAVAILABLE = "Service is temporarily unavailable, please try again later."  # approx
LIST_WINDOW = "The time range between start_time and end_time must not exceed 24 hours."  # approx
NOT_FOUND = "The requested resource does not exist."  # approx

#: Messages used when a task ends FAILED with a given code (``[fail:CODE]``) or when a synchronous
#: rejection names a code (``[reject:CODE]``). Values are documented strings.
CODE_MESSAGES: dict[str, str] = {
    "InternalError": INTERNAL_ERROR,
    "InternalError.Algo": (
        "An internal error has occured during execution, please try again later or contact service support."
    ),
    "InternalError.Timeout": (
        "An internal timeout error has occured during execution, please try again later or contact "
        "service support."
    ),
    "InternalError.FileUpload": "oss upload error.",
    "InternalError.Upload": "Failed to upload result.",
    "SystemError": "An system error has occured, please try again later.",
    "ModelServiceFailed": "Failed to request model service.",
    "InvalidParameter": "The specified parameter is not valid.",
    "InvalidParameter.DataInspection": DOWNLOAD_UNABLE,
    "DataInspectionFailed": OUTPUT_INSPECTION,
    "IPInfringementSuspect": "Input data is suspected of being involved in IP infringement.",
    "Arrearage": "Access denied, please make sure your account is in good standing.",
    "ModelServingError": (
        "Too many requests. Your requests are being throttled due to system capacity limits. "
        "Please try again later."
    ),
    "ModelUnavailable": "Model is unavailable, please try again later.",
    "Throttling": THROTTLED,
    "Throttling.RateQuota": RATE_LIMITED,
    "ServiceUnavailable": SERVICE_UNAVAILABLE,
}

#: Synchronous create rejections (``[reject:CODE]``): input moderation speaks about the *input*.
REJECT_MESSAGES: dict[str, str] = {
    **CODE_MESSAGES,
    "DataInspectionFailed": "Input data may contain inappropriate content.",
}

#: HTTP status for a code when it is answered synchronously.
CODE_STATUS: dict[str, int] = {
    "InvalidApiKey": 401,
    "AccessDenied": 403,
    "Arrearage": 400,
    "Throttling": 429,
    "Throttling.RateQuota": 429,
    "InternalError": 500,
    "InternalError.Algo": 500,
    "InternalError.Timeout": 500,
    "InternalError.FileUpload": 500,
    "InternalError.Upload": 500,
    "SystemError": 500,
    "ModelServiceFailed": 500,
    "ModelServingError": 503,
    "ModelUnavailable": 503,
    "ServiceUnavailable": 503,
}

GENERIC_FAILURE = CODE_MESSAGES["InternalError.Algo"]


def message_for(code: str, *, reject: bool = False) -> str:
    """The documented message for ``code``; unknown codes get the generic algorithm-failure text."""
    table = REJECT_MESSAGES if reject else CODE_MESSAGES
    return table.get(code, GENERIC_FAILURE)


def status_for(code: str) -> int:
    """HTTP status a synchronous error with ``code`` is answered with (400 unless listed)."""
    return CODE_STATUS.get(code, 400)


@dataclass
class ApiError(Exception):
    """A DashScope error answer: flat ``{code, message, request_id}`` JSON with ``status``."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def invalid(message: str) -> ApiError:
    """A 400 ``InvalidParameter`` error (the family every parameter check uses)."""
    return ApiError(400, "InvalidParameter", message)
