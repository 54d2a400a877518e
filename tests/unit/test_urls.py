"""Project URL forms normalise to one id."""

from __future__ import annotations

import pytest

from mc.errors import InvalidArgument
from mc.projects.urls import clone_url, looks_like_git_url, normalize


@pytest.mark.parametrize(
    "url",
    [
        "github.com/hello/private",
        "git@github.com:hello/private.git",
        "git@github.com:hello/private",
        "https://github.com/hello/private",
        "https://github.com/hello/private.git",
        "https://user@GitHub.com/hello/private.git/",
        "ssh://git@github.com/hello/private.git",
        "ssh://git@github.com:22/hello/private.git",
    ],
)
def test_forms_name_the_same_project(url):
    assert normalize(url) == "github.com/hello/private"


@pytest.mark.parametrize("bad", ["not a url", "ftp://x/y", "https://github.com", "", "./local/dir"])
def test_bad_urls(bad):
    with pytest.raises(InvalidArgument):
        normalize(bad)


def test_clone_url_of_bare_form_depends_on_auth():
    assert clone_url("github.com/hello/private", "ssh") == "git@github.com:hello/private.git"
    assert clone_url("github.com/hello/private", "token") == "https://github.com/hello/private.git"
    assert clone_url("git@github.com:hello/private.git") == "git@github.com:hello/private.git"


def test_looks_like_git_url():
    assert looks_like_git_url("git@github.com:hello/private")
    assert looks_like_git_url("https://example.org/a/b.git")
    assert not looks_like_git_url(".")
    assert not looks_like_git_url("./x")
    assert not looks_like_git_url("session")


@pytest.mark.parametrize("url", [
    "https://alice:ghp_SECRET@github.com/alice/private.git",
    "http://x-access-token:ghp_SECRET@example.com/a/b",
    "alice:ghp_SECRET@github.com:alice/private.git",
])
def test_a_password_in_the_url_is_refused_and_never_echoed(url):
    with pytest.raises(InvalidArgument) as err:
        normalize(url)
    assert "ghp_SECRET" not in str(err.value) and "--token" in str(err.value)


@pytest.mark.parametrize("url", ["github.com/a/b\x1b[31m", "https://github.com/a/b c", "github.com/a/$(id)",
                                 "https://example.com/" + "a" * 3000])
def test_paths_with_control_or_shell_characters_are_refused(url):
    with pytest.raises(InvalidArgument) as err:
        normalize(url)
    assert "\x1b" not in str(err.value) and len(str(err.value)) < 400
