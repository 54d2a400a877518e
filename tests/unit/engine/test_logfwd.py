"""Log forwarding to a Fluentd collector: the checks and the log driver options (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mc.drivers import manifest
from mc.drivers.registry import Driver
from mc.engine import labels
from mc.engine.logfwd import check_fluentd
from mc.engine.models import SessionSpec
from mc.engine.plan import plan_session
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings
from mc.errors import InvalidArgument


@pytest.mark.parametrize("url,address", [
    ("fluentd.example.com:24224", "tcp://fluentd.example.com:24224"),
    ("tcp://10.0.0.5:24224", "tcp://10.0.0.5:24224"),
    ("http://fluentd.example.com:24224", "tcp://fluentd.example.com:24224"),  # as the spec writes it
    ("unix:///var/run/fluent.sock", "unix:///var/run/fluent.sock"),
])
def test_collector_addresses(url, address):
    assert check_fluentd(url).address == address


@pytest.mark.parametrize("url,tag,needle", [
    ("https://fluentd:24224", "", "logging.fluentd.url"),
    ("fluentd", "", "logging.fluentd.url"),
    ("fluentd:99999", "", "logging.fluentd.url"),
    ("unix://relative", "", "logging.fluentd.url"),
    ("fluentd:24224", "mc.{user}", "logging.fluentd.tag"),
    ("fluentd:24224", "mc tag", "logging.fluentd.tag"),
])
def test_bad_collectors_are_one_line_errors(url, tag, needle):
    with pytest.raises(InvalidArgument, match=needle.replace(".", r"\.")):
        check_fluentd(url, tag)


def test_sessions_log_through_dockers_fluentd_driver_with_their_fields():
    settings = EngineSettings(fluentd=check_fluentd("collector:24224", "mc.{owner}.{session}"))
    drv = Driver("t", Path("/d/t"), "builtin", manifest.parse(yaml.safe_load("name: t\n"), "mc-driver.yaml"))
    p = plan_session(SessionSpec(driver="t"), drv, "img", settings, Scope.local("alice@example.com"),
                     session_id="0123abcd", created="t", version="1")
    args = p.create_args()
    opts = [args[i + 1] for i, a in enumerate(args) if a == "--log-opt"]
    assert args[args.index("--log-driver") + 1] == "fluentd"
    assert "fluentd-address=tcp://collector:24224" in opts and "fluentd-async=true" in opts
    assert "tag=mc.alice_example.com.0123abcd" in opts
    assert f"labels={labels.SESSION},{labels.OWNER},{labels.DRIVER},{labels.PROJECT}" in opts
    assert p.labels[labels.LOGS] == "fluentd tcp://collector:24224"
    plain = plan_session(SessionSpec(driver="t"), drv, "img", EngineSettings(), Scope.local("me"),
                         session_id="0123abcd", created="t", version="1")
    assert "--log-driver" not in plain.create_args() and labels.LOGS not in plain.labels
