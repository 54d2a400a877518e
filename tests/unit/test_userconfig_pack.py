"""The user's own tool configuration: packed without caches, history or links; an archive is
checked member by member where it is unpacked."""

from __future__ import annotations

import io
import tarfile

import pytest

from mc.drivers.userconfig import Source, checked_members, pack
from mc.errors import InvalidArgument

SOURCES = [Source("~/.claude", "/mc-config/claude-code/claude", "directory", ("projects", "*.log")),
           Source("~/.claude.json", "/mc-config/claude-code/claude.json", "file")]
TARGETS = [s.target for s in SOURCES]


def _home(tmp_path):
    (tmp_path / ".claude" / "projects").mkdir(parents=True)
    (tmp_path / ".claude" / "settings.json").write_text("{}")
    (tmp_path / ".claude" / ".credentials.json").write_text("secret")
    (tmp_path / ".claude" / "projects" / "h.jsonl").write_text("history")
    (tmp_path / ".claude" / "debug.log").write_text("log")
    (tmp_path / ".claude" / "link").symlink_to("/etc/passwd")
    (tmp_path / ".claude.json").write_text('{"userID": "u"}')
    return tmp_path


def _names(archive: bytes) -> dict[str, int]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: m.mode for m in tar.getmembers()}


def test_pack_leaves_out_history_and_links_and_keeps_files_private(tmp_path):
    packed = pack(SOURCES, _home(tmp_path))
    names = _names(packed.archive)
    assert set(names) == {"claude-code/claude", "claude-code/claude/settings.json",
                          "claude-code/claude/.credentials.json", "claude-code/claude.json"}
    assert names["claude-code/claude/.credentials.json"] == 0o600 and names["claude-code/claude"] == 0o700
    assert packed.found == ["~/.claude", "~/.claude.json"] and packed.skipped == 2
    everything = _names(pack(SOURCES, tmp_path, with_history=True).archive)
    assert "claude-code/claude/projects/h.jsonl" in everything and "claude-code/claude/link" not in everything
    with pytest.raises(InvalidArgument, match="more than"):
        pack(SOURCES, tmp_path, with_history=True, limit=10)


def test_a_packed_archive_passes_the_check_and_is_owned_by_the_session_user(tmp_path):
    clean = checked_members(pack(SOURCES, _home(tmp_path)).archive, TARGETS, 1000, 1000)
    with tarfile.open(fileobj=io.BytesIO(clean)) as tar:
        assert {(m.uid, m.gid) for m in tar.getmembers()} == {(1000, 1000)}


def _tar(*members: tarfile.TarInfo) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for m in members:
            tar.addfile(m, io.BytesIO(b"x" * m.size) if m.isreg() else None)
    return buf.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.size = kind, size if kind == tarfile.REGTYPE else 0
    if kind == tarfile.SYMTYPE:
        m.linkname = "/etc/shadow"
    return m


@pytest.mark.parametrize("member,message", [
    (_member("claude-code/claude/../../etc/x"), "not inside"),
    (_member("/mc-config/claude-code/claude/x"), "not inside"),
    (_member("goose-config/config.yaml"), "not inside"),
    (_member("claude-code/claudeX/y"), "not inside"),
    (_member("claude-code/claude/l", tarfile.SYMTYPE), "not a plain file"),
    (_member("claude-code/claude/d", tarfile.CHRTYPE), "not a plain file"),
])
def test_hostile_archives_are_refused(member, message):
    with pytest.raises(InvalidArgument, match=message):
        checked_members(_tar(member), TARGETS, 1000, 1000)
    with pytest.raises(InvalidArgument, match="not a tar archive"):
        checked_members(b"not a tar" * 100, TARGETS, 1000, 1000)


def test_a_sessions_own_config_read_back_keeps_only_what_passes():
    """On a cluster mcd reads a session's /mc-config back (``docker cp``: members under
    ``mc-config/``): what the check would refuse is left out rather than failing the whole config;
    the bounds still hold."""
    kept = _member("mc-config/claude-code/claude/settings.json")
    archive = _tar(_member("mc-config", tarfile.DIRTYPE), kept, _member("mc-config/claude-code/claude/l",
                                                                        tarfile.SYMTYPE),
                   _member("mc-config/elsewhere/x"), _member("mc-config/claude-code/claude/../../etc/x"),
                   _member("/etc/passwd"))
    assert _names(checked_members(archive, TARGETS, 1000, 1000, lenient=True, root="mc-config/")) == {
        "claude-code/claude/settings.json": 0o600}
    with pytest.raises(InvalidArgument, match="more than"):
        checked_members(_tar(_member("mc-config/claude-code/claude/big", size=2048)), TARGETS, 1000, 1000, 1024,
                        lenient=True, root="mc-config/")
