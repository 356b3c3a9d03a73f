"""Keep webhook receivers' secret URL tokens out of every log.

The receiver URL (`/tasks/webhooks/<token>/`) is the receiver's only credential besides the
signature: anyone who reads it from a log could send deliveries to it (refused without the
signature, but still answered) or learn which connection it belongs to. The web server's access
log, Django's request log and the development server all write request paths, so this filter is
installed on those loggers in settings.LOGGING and masks the token in the record itself, before
any handler formats it. The record's shape is kept (its arguments are masked one by one), so a
formatter that unpacks them, as uvicorn's access formatter does, still works.
"""

import logging
import re

TOKEN_IN_PATH = re.compile(r"(/tasks/webhooks/)[^/\s\"'?#]+")
MASK = r"\1[hidden]"


def _masked(value: object) -> object:
    return TOKEN_IN_PATH.sub(MASK, value) if isinstance(value, str) else value


class HideWebhookTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _masked(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _masked(arg) for key, arg in record.args.items()}
        return True
