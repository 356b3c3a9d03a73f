"""Django's own deploy checks cannot see our subclasses of its security middleware; ours does."""

from dashboard.core.django_middleware import check_guards


def test_the_settings_have_every_guard():
    assert check_guards() == []


def test_a_missing_guard_is_named(settings):
    settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if "Csrf" not in path]
    (warning,) = check_guards()
    assert warning.id == "core.W001"
    assert "CsrfViewMiddleware" in warning.msg
