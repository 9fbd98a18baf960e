"""Log filters: every line carries the request id; phone numbers and credentials never reach a log in clear."""

import contextvars
import logging
import re

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Mainland mobile numbers, optionally with +86 and spaces or dashes between the groups: 138****5678.
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Credentials that travel in query strings (WeChat's jscode2session URL, signed gateway calls), which
# HTTP client libraries log with the URL.
_SECRET_PARAM_RE = re.compile(
    r"(?i)\b(secret|js_code|session_key|access_token|refresh_token|AccessKeyId|Signature|password)=([^&\s\"']+)"
)

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
}
_MAX_DEPTH = 4


def mask_phones_in(text: str) -> str:
    return _PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_pii_in(text: str) -> str:
    """Phones masked, credential query parameters replaced by ***."""
    return _SECRET_PARAM_RE.sub(lambda m: f"{m.group(1)}=***", mask_phones_in(text))


def mask_value(value, depth: int = 0):
    """A copy of `value` with every string in it masked (dicts, lists, tuples and sets followed)."""
    if isinstance(value, str):
        return mask_pii_in(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {key: mask_value(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(mask_value(item, depth + 1) for item in value)
    return value


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class MaskPiiFilter(logging.Filter):
    """Masks phones and credentials in the message, its args, `extra=` fields and tracebacks.

    Attach it to handlers (it changes the record, which later handlers then see masked too).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        self._mask_message(record)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                record.__dict__[key] = mask_value(value)
        self._mask_traceback(record)
        if record.stack_info:
            record.stack_info = mask_pii_in(record.stack_info)
        return True

    @staticmethod
    def _mask_message(record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            record.msg = mask_value(record.msg)
            return
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the line: keep its parts, masked
            record.msg = mask_pii_in(f"{record.msg} (args: {record.args!r})")
            record.args = None
            return
        masked = mask_pii_in(message)
        if masked != message:
            record.msg, record.args = masked, None

    @staticmethod
    def _mask_traceback(record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            masked = mask_pii_in(text)
            if masked != text:
                # Formatters print exc_info afresh when it is set; keep only the masked text.
                record.exc_info, record.exc_text = None, masked
        elif record.exc_text:
            record.exc_text = mask_pii_in(record.exc_text)
