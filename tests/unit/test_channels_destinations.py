"""Where a channel may post: the SSRF guard, without the network (literal addresses and localhost)."""

import asyncio

import pytest
from django.test import override_settings

from dashboard.channels import destinations

REFUSED_IN_PRODUCTION = [
    ("http://127.0.0.1:9000/hook", "internal address (127.0.0.1)"),
    ("http://localhost/hook", "internal address"),
    ("http://10.1.2.3/hook", "internal address (10.1.2.3)"),
    ("http://192.168.0.10/", "internal address"),
    ("http://169.254.169.254/latest/meta-data/", "internal address (169.254.169.254)"),
    ("http://[::1]:8080/", "internal address (::1)"),
    ("http://[::ffff:10.0.0.1]/", "internal address"),
    ("http://0.0.0.0/", "internal address"),
]


@override_settings(CHANNELS_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(("url", "sentence"), REFUSED_IN_PRODUCTION)
def test_it_refuses_internal_addresses_in_production(url, sentence):
    with pytest.raises(destinations.Refused, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        destinations.check(url)


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("ftp://example.com/hook", "Use an http:// or https:// address."),
        ("file:///etc/passwd", "Use an http:// or https:// address."),
        ("javascript:alert(1)", "Use an http:// or https:// address."),
        ("https://user:pw@example.com/", "Leave the user name and password out"),
        ("http://", "no host name"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_it_refuses_what_is_not_a_web_address(url, sentence):
    with pytest.raises(destinations.Refused, match=sentence):
        destinations.check(url)


@override_settings(CHANNELS_ALLOW_PRIVATE=True, PUBLIC_URL="http://127.0.0.1:8000")
def test_it_allows_loopback_where_the_setting_says_so_but_never_the_dashboard_itself():
    assert str(destinations.check("http://127.0.0.1:9000/hook").address) == "127.0.0.1"
    with pytest.raises(destinations.Refused, match="this dashboard itself"):
        destinations.check("http://127.0.0.1:8000/teams/")


@override_settings(CHANNELS_ALLOW_PRIVATE=False)
def test_it_allows_a_public_address_and_checks_again_at_send_time():
    assert str(destinations.check("https://93.184.215.14/hook").address) == "93.184.215.14"
    with pytest.raises(destinations.Refused, match="internal address"):
        asyncio.run(destinations.acheck("http://localhost:9000/hook"))


def test_only_the_host_of_a_stored_address_is_shown():
    assert destinations.hint("https://hooks.slack.com/services/T0/B0/abc123") == "https://hooks.slack.com/…"
    assert destinations.hint("http://127.0.0.1:9000/x") == "http://127.0.0.1:9000/…"


@override_settings(CHANNELS_ALLOW_PRIVATE=False, PUBLIC_URL="https://93.184.215.14/")
def test_the_dashboard_s_public_address_is_refused_however_it_is_spelt():
    for url in ["https://[::ffff:93.184.215.14]/hook", "https://1572394766/hook"]:
        with pytest.raises(destinations.Refused, match="this dashboard itself"):
            destinations.check(url)
        with pytest.raises(destinations.Refused, match="this dashboard itself"):
            asyncio.run(destinations.acheck(url))
    assert str(destinations.check("https://93.184.215.14:8443/hook").address) == "93.184.215.14"


def test_an_ipv6_address_is_shown_with_its_brackets():
    assert destinations.hint("http://[::1]:9000/secret-path") == "http://[::1]:9000/…"
