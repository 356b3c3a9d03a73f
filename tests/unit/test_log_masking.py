"""Webhook receivers' URL tokens never reach a log: the filter settings.LOGGING installs on the
loggers that write request paths masks them in the record, before any handler formats it."""

import io
import logging

import pytest
from uvicorn.logging import AccessFormatter

TOKEN = "Zq3xT0k3n-of-a-receiver_4Ht9wLmN2pQ8rS5vY7bC1dE6"
PATH = f"/tasks/webhooks/{TOKEN}/"


@pytest.fixture
def access_log():
    """uvicorn's access logger, writing through uvicorn's own access formatter as `uvicorn` does."""
    logger = logging.getLogger("uvicorn.access")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    )
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)  # whatever an earlier test (or uvicorn's own setup) left it at
    yield logger, out
    logger.setLevel(level)
    logger.removeHandler(handler)


def test_it_masks_the_token_in_uvicorns_access_log(access_log):
    logger, out = access_log
    # The call uvicorn's HTTP protocols make for every response.
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50312", "POST", f"{PATH}?retry=1", "1.1", 200)
    line = out.getvalue()
    assert line == '127.0.0.1:50312 - "POST /tasks/webhooks/[hidden]/?retry=1 HTTP/1.1" 200 OK\n'


@pytest.mark.parametrize("logger_name", ["django.request", "django.server", "uvicorn.access"])
def test_it_masks_the_token_on_every_logger_that_writes_request_paths(logger_name, caplog):
    logger = logging.getLogger(logger_name)
    # Those that do not propagate keep their own handlers: look at the record as a handler gets it.
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("Unauthorized: %s", PATH)
        logger.warning(f'"POST {PATH} HTTP/1.1" 401 27')  # a message formatted before logging
    finally:
        logger.removeHandler(handler)
    assert seen == [
        "Unauthorized: /tasks/webhooks/[hidden]/",
        '"POST /tasks/webhooks/[hidden]/ HTTP/1.1" 401 27',
    ]


def test_it_leaves_other_paths_alone(caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        logging.getLogger("django.request").warning("Not Found: %s", "/tasks/abc-123/")
    assert caplog.messages == ["Not Found: /tasks/abc-123/"]
