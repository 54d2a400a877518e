"""mcd's configuration as an operator sees it."""

from __future__ import annotations

import pytest

from mcd.main import check_config

_AUTH = "auth: {issuer: 'https://idp.example', client_id: mc-service}\n"


def test_check_config_masks_every_secret(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PG_PASSWORD", "S3cretPw")
    cfg = tmp_path / "mc-service.yaml"
    cfg.write_text(
        "database: {url: 'postgresql://mcd:${PG_PASSWORD}@db.internal/mcd'}\n"
        "projects: {storage: {type: encrypted, key: 'k' }}\n"
        "auth: {issuer: 'https://idp.example/', client_id: mc, client_secret: 'hush-hush'}\n"
    )
    assert check_config(str(cfg)) == 0
    out = capsys.readouterr().out
    assert "S3cretPw" not in out and "hush-hush" not in out
    assert "postgresql://mcd:********@db.internal/mcd" in out


@pytest.mark.parametrize("value", ["https://u:p@host/x", "postgresql://a:b@c/d"])
def test_url_passwords_are_masked_anywhere(value):
    from mcd.main import masked

    assert ":********@" in masked({"anything": value})["anything"]


@pytest.mark.parametrize(("text", "needle"), [
    ("sesions: {uid: 1}\n", "sesions: expected one of"),
    ("sessions: {pid_limit: 5}\n", "sessions.pid_limit: expected one of"),
    ("sessions: {memory: lots}\n", "sessions.memory"),
    ("sessions: {max_per_user: -1}\n", "sessions.max_per_user"),
    ("drivers: [{name: goose, image: 'Not An Image'}]\n", "drivers[0].image"),
    ("drivers: [{name: goose, image: r.example/g:1, path: /d}]\n", "drivers[0]: expected either path"),
    ("server: {port: 3000, tls: {cert: a, key: b}}\n", "requires an auth section"),
    ("sessions: {egress: {allow: everything}}\n", "sessions.egress.allow: expected open, any"),
    ("sessions: {max_lifetime: soon}\n", "sessions.max_lifetime: expected a duration"),
    ("sessions: {idle_timeout: [1h]}\n", "sessions.idle_timeout: expected a duration"),
    ("sessions: {shell_grace: 2d}\n", "sessions.shell_grace: expected at most 1d"),
    ("server: {web: {port: 3001}}\n", "server.web requires server.tls and an auth section"),
    ("server: {web: 3001}\n", "server.web: expected a mapping with port"),
    (_AUTH + "server: {port: 3000, tls: {cert: a, key: b}, web: {port: 70000}}\n", "server.web.port"),
    (_AUTH + "server: {port: 3000, tls: {cert: a, key: b}, web: {port: 3001, url: 'http://x:3001'}}\n",
     "server.web.url: expected the https://HOST[:PORT]"),
    ("sessions: {egress: {allow: [10.0.0.1]}}\n", "sessions.egress.allow: expected domain names"),
    ("sessions: {egress: {allow: any, widen: yes-please}}\n", "sessions.egress.widen"),
    ("sessions: {egress: {alow: any}}\n", "sessions.egress: expected a mapping with allow"),
    ("logging: {providers: [{type: fluentbit, url: 'f:1'}]}\n", "providers[0].type: expected fluentd or langfuse"),
    ("logging: {providers: [{type: fluentd}]}\n", "logging.providers[0].url: expected a value"),
    ("logging: {providers: [{type: fluentd, url: 'nohost'}]}\n", "logging.providers[0].url 'nohost'"),
    ("logging: {providers: [{type: fluentd, url: 'f:1', tags: x}]}\n", "logging.providers[0].tags"),
    ("logging: {providers: [{type: langfuse, url: 'https://lf', public_key: pk}]}\n",
     "logging.providers[0].secret_key: expected a value"),
    ("logging: {providers: [{type: langfuse, url: 'ftp://lf', public_key: pk, secret_key: sk}]}\n",
     "logging.providers[0].url 'ftp://lf': expected an http(s)"),
    ("logging: {providers: [{type: langfuse, url: 'https://lf', public_key: pk, secret_key: 's k'}]}\n",
     "logging.providers[0].secret_key: expected a key"),
    ("logging: {providers: [{type: langfuse, url: 'https://a', public_key: p, secret_key: s},"
     " {type: langfuse, url: 'https://b', public_key: p, secret_key: s}]}\n", "one langfuse provider"),
    ("docker: {mode: kubernetes}\n", "docker.mode: expected engine or swarm"),
    ("sessions: {pool: gpu}\n", "sessions.pool: expected docker.mode: swarm"),
    ("docker: {mode: swarm}\n", "docker.swarm: expected a mapping with manager"),
    ("docker: {mode: swarm, swarm: {manager: 'http://m:2376', registry: r:5000, tls: {ca: a, cert: b, key: c}}}\n",
     "docker.swarm.manager: expected tcp://HOST:PORT"),
    ("docker: {mode: swarm, swarm: {manager: 'tcp://m:2376', registry: r:5000, tls: {ca: a, cert: b}}}\n",
     "docker.swarm.tls: expected a mapping with ca, cert and key"),
    ("docker: {mode: swarm, swarm: {manager: 'tcp://m:2376', registry: r:5000, tls: {ca: /no, cert: b, key: c}}}\n",
     "docker.swarm.tls.ca: expected a readable file"),
])
def test_config_mistakes_are_one_line_naming_the_key(tmp_path, text, needle):
    from mc.errors import InvalidArgument
    from mcd.config import load

    cfg = tmp_path / "mc-service.yaml"
    cfg.write_text(text)
    with pytest.raises(InvalidArgument) as err:
        load(str(cfg))
    assert str(err.value).startswith(str(cfg)) and needle in str(err.value) and "\n" not in str(err.value)


def test_the_spec_example_loads(tmp_path, monkeypatch):
    from mcd.config import load

    monkeypatch.setenv("LANGFUSE_INIT_PROJECT_PUBLIC_KEY", "pk")
    monkeypatch.setenv("LANGFUSE_INIT_PROJECT_SECRET_KEY", "sk")
    cfg = tmp_path / "mc-service.yaml"
    cfg.write_text("""
server: {port: 3000, host: 0.0.0.0, tls: {cert: c.pem, key: k.pem}}
docker: {socket: /var/run/docker.sock, network: mc-network}
auth: {provider: authentik, url: https://authentik.example/application/o/mc/, clientId: mc-service}
logging:
  providers:
    - {type: fluentd, url: http://fluentd.example.com:24224}
    - type: langfuse
      url: https://cloud.langfuse.com
      public_key: ${LANGFUSE_INIT_PROJECT_PUBLIC_KEY}
      secret_key: ${LANGFUSE_INIT_PROJECT_SECRET_KEY}
projects:
  storage: {type: encrypted, key: k}
  default_ssh_scan: [github.com]
""")
    c = load(str(cfg))
    assert c.auth is not None and c.auth.issuer == "https://authentik.example/application/o/mc"
    assert c.auth.client_id == "mc-service" and not c.unsupported
    assert c.fluentd is not None and c.fluentd.address == "tcp://fluentd.example.com:24224"
    assert c.langfuse is not None and (c.langfuse.url, c.langfuse.public_key, c.langfuse.secret_key) == \
        ("https://cloud.langfuse.com", "pk", "sk")


def test_the_shipped_example_loads(monkeypatch):
    from pathlib import Path

    from mcd.config import load

    monkeypatch.setenv("MCD_CLIENT_SECRET", "s")
    monkeypatch.setenv("PROJECT_ENCRYPTION_KEY", "k")
    c = load(str(Path(__file__).resolve().parents[3] / "build" / "mc-service.example.yaml"))
    assert c.auth is not None and c.max_per_user == 10 and c.memory == "8g" and c.project_key == "k"


@pytest.mark.parametrize(("text", "egress", "widen"), [
    ("", None, True),
    ("sessions: {egress: {allow: open}}\n", None, True),
    ("sessions: {egress: {allow: any}}\n", ("*",), False),
    ("sessions: {egress: {allow: [GitHub.com, '*.npmjs.org']}}\n", ("github.com", "*.npmjs.org"), False),
    ("sessions: {egress: {allow: [github.com], widen: true, network: out}}\n", ("github.com",), True),
])
def test_the_egress_policy(tmp_path, text, egress, widen):
    from mcd.config import load
    from mcd.server import engine_settings

    path = tmp_path / "mc-service.yaml"
    path.write_text(text + "projects: {storage: {type: encrypted, key: k}}\n")
    settings = engine_settings(load(str(path)))
    assert (settings.egress, settings.egress_widen) == (egress, widen)
    assert settings.egress_network == ("out" if "network" in text else "mc-egress")


def test_the_web_listener_and_the_shell_grace(tmp_path):
    from mcd.config import load

    cfg = tmp_path / "mc-service.yaml"
    cfg.write_text(_AUTH + "server: {host: 10.0.0.5, port: 3000, tls: {cert: a, key: b}, web: {port: 3001}}\n"
                   "sessions: {shell_grace: 90s}\n")
    c = load(str(cfg))
    assert (c.web_port, c.web_url, c.shell_grace) == (3001, "https://10.0.0.5:3001", 90)
    cfg.write_text(_AUTH + "server: {port: 3000, tls: {cert: a, key: b}, web: {port: 443, url: 'https://mc.example/'}}\n")
    c = load(str(cfg))
    assert (c.web_url, c.shell_grace) == ("https://mc.example", 300)


@pytest.mark.parametrize(("text", "lifetime", "idle"), [
    ("", 0, 3600), ("sessions: {max_lifetime: 8h, idle_timeout: 30m}\n", 8 * 3600, 1800),
    ("sessions: {idle_timeout: 0}\n", 0, 0), ("sessions: {max_lifetime: 90}\n", 90, 3600),
])
def test_lifetimes_and_idle_stop(tmp_path, text, lifetime, idle):
    from mcd.config import load
    from mcd.server import engine_settings

    cfg = tmp_path / "mc-service.yaml"
    cfg.write_text(text)
    c = load(str(cfg))
    assert (c.max_lifetime, c.idle_timeout) == (lifetime, idle)
    settings = engine_settings(c)
    assert (settings.max_lifetime, settings.idle_timeout) == (lifetime, idle)


def test_a_swarm_section_loads(tmp_path):
    from mc.errors import InvalidArgument
    from mcd.config import load

    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    tls = f"{{ca: {tmp_path}/ca.pem, cert: {tmp_path}/cert.pem, key: {tmp_path}/key.pem}}"
    cfg = tmp_path / "mc-service.yaml"
    cfg.write_text(f"docker: {{mode: swarm, swarm: {{manager: 'tcp://10.0.0.1:2376', registry: 'reg.internal:5000', "
                   f"tls: {tls}, place_timeout: 2m}}}}\nsessions: {{pool: sessions}}\n")
    swarm = load(str(cfg)).swarm
    assert swarm is not None and (swarm.manager, swarm.registry, swarm.pool, swarm.node_port, swarm.place_timeout) == (
        "tcp://10.0.0.1:2376", "reg.internal:5000", "sessions", 2376, 120)
    cfg.write_text(cfg.read_text().replace("pool: sessions", "pool: 'a b'"))
    with pytest.raises(InvalidArgument, match=r"sessions\.pool"):
        load(str(cfg))
    assert load(None).swarm is None  # the single engine stays the default
