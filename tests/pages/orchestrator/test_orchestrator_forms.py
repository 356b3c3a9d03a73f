"""Form rules that match what upstream accepts, hostile log text, and links from upstream."""

import pytest
from django.urls import reverse

from dashboard.core.templatetags.core import http_url, link
from dashboard.orchestrator.forms import JobForm, ProfileForm, ProjectForm, TeamForm, derive_slug
from dashboard.tracking.templatetags.tracking import ansi
from tests.support.orchestrator_cast import make_cast

# --- form rules ------------------------------------------------------------------------------------


def project_form(**fields) -> ProjectForm:
    return ProjectForm({"name": "Site", "mode": "managed", "repo_url": "", "production_url": "", **fields})


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:org/repo.git",
        "deploy@git.example.com:team/app",
        "https://github.com/org/repo.git",
        "ssh://git@github.com/org/repo.git",
    ],
)
def test_repository_urls_git_clones_from_are_accepted(url):
    form = project_form(repo_url=url)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["repo_url"] == url


@pytest.mark.parametrize("url", ["ftp://example.com/repo", "javascript:alert(1)", "not a url", "git@:x"])
def test_other_repository_urls_are_refused(url):
    assert "repo_url" in project_form(repo_url=url).errors


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (lambda url: project_form(production_url=url), "production_url"),
        (lambda url: ProfileForm({"full_name": "", "avatar_url": url}), "avatar_url"),
    ],
)
def test_link_fields_take_web_addresses_only(form, field):
    assert form("ftp://files.example.com/x").errors[field] == ["Enter an http:// or https:// address."]
    assert form("javascript:alert(1)").errors[field]
    assert form("https://example.com/x").is_valid()
    assert form("http://example.com/x").is_valid()


@pytest.mark.parametrize("slug", ["-a", "a-", "a--b", "A", "a_b", "a b"])
def test_slugs_upstream_refuses_are_refused_here(slug):
    assert "slug" in TeamForm({"name": "Team", "slug": slug}).errors


@pytest.mark.parametrize("slug", ["a", "a-b", "team-42", "0x"])
def test_good_slugs_pass(slug):
    assert TeamForm({"name": "Team", "slug": slug}).is_valid()


def test_derived_slugs_follow_the_same_rule():
    assert derive_slug("Ops_Team  --  Berlin!") == "ops-team-berlin"
    assert derive_slug("x" * 49 + " y") == "x" * 49


def test_job_inputs_are_limited_to_64_kb():
    big = '{"blob": "' + "x" * (64 * 1024) + '"}'
    form = JobForm({"type": "deploy", "inputs": big})
    assert form.errors["inputs"] == ["Inputs are limited to 64 KB; pass large data by reference (a URL)."]
    assert JobForm({"type": "deploy", "inputs": '{"ref": "main"}'}).is_valid()


@pytest.mark.django_db
def test_upstream_accepts_the_ssh_repository_url_the_form_now_allows(client, sandbox):
    cast = make_cast(sandbox)
    client.force_login(cast.admin.user)
    response = client.post(
        reverse("orchestrator:team_detail", args=[cast.team["id"]]),
        {
            "name": "ssh-app",
            "repo_url": "git@github.com:org/repo.git",
            "mode": "managed",
            "create_project": "1",
        },
    )
    assert response.status_code == 302
    assert "git@github.com:org/repo.git" in client.get(response.url).content.decode()


# --- ANSI: whole sequences dropped, colours read right, everything escaped --------------------------


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"),
        ("\x1b[2K\x1b[1Gprogress 50%", "progress 50%"),
        ("\x1b]0;window title\x07build", "build"),
        ("\x1b]8;;https://example.com/run/1\x1b\\run 1\x1b]8;;\x1b\\ done", "run 1 done"),
        ("\x1b(Bplain", "plain"),
        ("\x1b[38;5;1mred\x1b[0m", '<span class="ansi-fg-red">red</span>'),
        ("\x1b[38;5;196mfar red\x1b[0m", '<span class="ansi-fg-bright-red" data-fg="#ff0000">far red</span>'),
        # 2;1;32;0 are an RGB colour's numbers: not bold, not green.
        ("\x1b[38;2;1;32;0mrgb", '<span class="ansi-fg-black" data-fg="#012000">rgb</span>'),
        ("\x1b[48;5;4;1mon blue", '<span class="ansi-bg-blue ansi-bold">on blue</span>'),
        ("\x1b[38:5:2mcolon form", '<span class="ansi-fg-green">colon form</span>'),
        ("\x1b[1;31mbold red", '<span class="ansi-fg-red ansi-bold">bold red</span>'),
    ],
)
def test_ansi_sequences_are_consumed_whole(text, html):
    assert str(ansi(text)) == html


@pytest.mark.parametrize(
    "text",
    [
        "\x1b]8;;javascript:alert(1)\x07<img src=x onerror=alert(1)>\x1b]8;;\x07",
        "\x1b[31m<script>alert(1)</script>\x1b[0m",
        '\x1b[31;"onmouseover="alert(1)m"quoted"',
        '\x1b]8;;"><script>alert(1)</script>',  # unterminated OSC
        "<svg/onload=alert(1)>\x1b[38;5;<b>m",
        "\x9b31m<b>c1</b>\x9d0;title\x9c",
    ],
)
def test_hostile_log_text_never_becomes_markup(text):
    html = str(ansi(text))
    for dangerous in ("<script", "<img", "<svg", "<b>", "<a ", '"onmouseover'):
        assert dangerous not in html
    # The only tags left are our spans, with class names from the fixed lists.
    stripped = html.replace("</span>", "")
    assert all(part.startswith('span class="ansi-') for part in stripped.split("<")[1:])


# --- links from upstream ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "//evil.example/x",
        "git@github.com:org/repo.git",
    ],
)
def test_only_http_urls_become_links(url):
    assert http_url(url) == ""
    html = str(link(url))
    assert "<a " not in html
    assert "<script" not in html


def test_http_urls_become_links_and_empty_is_a_dash():
    assert str(link("https://site.example.com/?a=1&b=2")) == (
        '<a href="https://site.example.com/?a=1&amp;b=2" rel="noopener noreferrer">'
        "https://site.example.com/?a=1&amp;b=2</a>"
    )
    assert str(link(None)) == "—"


@pytest.mark.django_db
def test_a_javascript_url_from_upstream_is_shown_as_text(client, sandbox):
    cast = make_cast(sandbox)
    project = cast.project(productionUrl="javascript:alert(document.cookie)", repoUrl="javascript:alert(2)")
    branch_path = f"/teams/{cast.team['id']}/projects/{project['id']}/branches"
    branch = cast.api(cast.owner).post(branch_path, {"name": "main", "previewUrl": "javascript:alert(3)"})[
        "branch"
    ]
    client.force_login(cast.member.user)
    pages = [
        reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]]),
        reverse("orchestrator:team_detail", args=[cast.team["id"]]),
        reverse("orchestrator:branch_detail", args=[cast.team["id"], project["id"], branch["id"]]),
    ]
    for url in pages:
        page = client.get(url).content.decode()
        assert 'href="javascript:' not in page, url
        assert "javascript:alert(" in page, url  # still shown, as text
