"""CloudStack API errors: the codes, texts and envelope names clients see."""

from __future__ import annotations

from dataclasses import dataclass

# ApiErrorCode values (HTTP status = errorcode on the wire).
BAD_REQUEST = 400
UNAUTHORIZED = 401
METHOD_NOT_ALLOWED = 405
MALFORMED_PARAMETER_ERROR = 430
PARAM_ERROR = 431
UNSUPPORTED_ACTION_ERROR = 432
INTERNAL_ERROR = 530
ACCOUNT_ERROR = 531
ACCOUNT_RESOURCE_LIMIT_ERROR = 532
INSUFFICIENT_CAPACITY_ERROR = 533
RESOURCE_UNAVAILABLE_ERROR = 534
RESOURCE_ALLOCATION_ERROR = 535
RESOURCE_IN_USE_ERROR = 536

# CSExceptionErrorCode values.
CS_SERVER_API = 9999
CS_INVALID_PARAMETER = 4350
CS_PERMISSION_DENIED = 4365
CS_CLOUD_RUNTIME = 4250
CS_RESOURCE_ALLOCATION = 4370
CS_INSUFFICIENT_CAPACITY = 4325
CS_RESOURCE_UNAVAILABLE = 4380
CS_RESOURCE_IN_USE = 4375
CS_CONCURRENT_OPERATION = 4300

SIGNATURE_TEXT = "unable to verify user credentials and/or request signature"
SESSION_TEXT = "unable to verify user credentials"
INTERNAL_TEXT = "Internal error executing command, please contact your system administrator"


@dataclass
class ApiError(Exception):
    """An error answered with CloudStack's error envelope.

    `root` forces the envelope's root name (errorresponse, loginresponse...); otherwise the
    dispatcher uses the command's response name, or errorresponse for 432.
    """

    errorcode: int
    errortext: str
    cserrorcode: int | None = CS_SERVER_API
    root: str | None = None
    # Set for unexpected failures: the id that ties the client's answer to the log line.
    error_id: str | None = None

    def __str__(self) -> str:
        return f"{self.errorcode}: {self.errortext}"


def signature_error(root: str | None = None) -> ApiError:
    return ApiError(UNAUTHORIZED, SIGNATURE_TEXT, None, root)


def session_error(root: str | None = None) -> ApiError:
    return ApiError(UNAUTHORIZED, SESSION_TEXT, None, root)


def missing_param(command: str, name: str) -> ApiError:
    text = f"Unable to execute API command {command.lower()} due to missing parameter {name}"
    return ApiError(PARAM_ERROR, text)


def empty_param(name: str) -> ApiError:
    return ApiError(
        PARAM_ERROR, f"Invalid value provided for API arg: {name}", CS_INVALID_PARAMETER
    )


def bad_value(command: str, value: str, name: str) -> ApiError:
    text = (
        f"Unable to execute API command {command.lower()} due to invalid value {value} "
        f"for parameter {name}"
    )
    return ApiError(PARAM_ERROR, text)


def unknown_uuid(command: str, name: str, value: str) -> ApiError:
    text = (
        f"Unable to execute API command {command.lower()} due to invalid value. Invalid parameter "
        f"{name} value={value} due to incorrect long value format, or entity does not exist or due "
        "to incorrect parameter annotation for the field in api cmd class."
    )
    return ApiError(PARAM_ERROR, text)


def invalid_parameter(text: str) -> ApiError:
    """A business-rule refusal (InvalidParameterValueException)."""
    return ApiError(PARAM_ERROR, text, CS_INVALID_PARAMETER)


def permission_denied(
    text: str = "Caller does not have permission to operate with provided resource.",
) -> ApiError:
    return ApiError(ACCOUNT_ERROR, text, CS_PERMISSION_DENIED)


def unavailable_command(command: str, user_uuid: str) -> ApiError:
    text = (
        f"The API [{command}] does not exist or is not available for the account for user id "
        f"[{user_uuid}]."
    )
    return ApiError(UNSUPPORTED_ACTION_ERROR, text, CS_SERVER_API, "errorresponse")


def unknown_command_admin(command: str) -> ApiError:
    return ApiError(
        UNSUPPORTED_ACTION_ERROR, f"Unknown API command: {command}", CS_SERVER_API, "errorresponse"
    )
