"""docker stderr -> domain errors, against output recorded from the real CLI and engine."""

from __future__ import annotations

import subprocess

import pytest

from mc import errors
from mc.docker import Docker, DockerError
from mc.docker.errors import ContainerMissing, ImageMissing, NetworkMissing, classify, first_line

RECORDED = [
    ("Error response from daemon: No such container: mc-deadbeef\n", ContainerMissing),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
     errors.Unavailable),
    ("docker: Error response from daemon: network mc-test not found.\nSee 'docker run --help'.\n", NetworkMissing),
    ("Error response from daemon: No such image: mc-driver-base:0123456789ab\n", ImageMissing),
    ("Unable to find image 'mc-driver-base:0123456789ab' locally\ndocker: Error response from daemon: No such image: "
     "mc-driver-base:0123456789ab.\n", ImageMissing),
    ("Error response from daemon: Container 61804ff4e610 is not running\n", errors.Conflict),
    ('docker: Error response from daemon: Conflict. The container name "/mc-3758626f" is already in use by '
     'container "c07ac54db67f". You have to remove (or rename) that container to be able to reuse that name.\n',
     errors.Conflict),
    ("Error response from daemon: network with name mc-network already exists\n", errors.Conflict),
    ("invalid argument \"--filter\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\n",
     errors.InvalidArgument),
    ("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n",
     errors.Unavailable),
    ("Error response from daemon: Minimum memory limit allowed is 6MB\n", errors.InvalidArgument),
    ("Error response from daemon: something entirely new\n", errors.McError),
]


@pytest.mark.parametrize(("stderr", "expected"), RECORDED)
def test_classification(stderr, expected):
    assert classify(stderr)[0] is expected


def test_docker_error_is_one_line_without_daemon_noise():
    err = DockerError(["docker", "rm", "x"], 1, RECORDED[0][0])
    assert str(err) == "docker rm: No such container: mc-deadbeef"
    assert err.exit_code == errors.EXIT_NOT_FOUND and err.is_a(errors.NotFound)
    assert "\n" not in str(err)


def test_docker_error_names_the_command_past_a_remote_engines_options():
    from mc.docker.runner import Tls

    argv = Docker.remote("tcp://10.0.0.2:2376", Tls("ca.pem", "cert.pem", "key.pem")).argv("service", "create", "x")
    err = DockerError(argv, 1, "Error response from daemon: network mc-network-1 not found\n")
    assert str(err) == "docker service: network mc-network-1 not found"


def test_first_line_skips_warnings():
    assert first_line("WARNING: foo\nError: real problem\n") == "real problem"


# what the docker CLI printed on stderr when an exec met a container that was just ending (recorded)
ATTACHED = [
    ("unable to upgrade to tcp, received 500\n", 1, True),
    ("Error response from daemon: Container 61804ff4e610 is not running\n", 1, True),
    ("OCI runtime exec failed: exec failed: cannot exec in a stopped container: unknown\n", 126, False),
    ("usage: mytool [-h]\n", 1, False),
]


@pytest.mark.parametrize(("stderr", "rc", "dockers"), ATTACHED)
def test_an_attached_command_tells_dockers_errors_from_the_commands_output(tmp_path, capfd, stderr, rc, dockers):
    stub = tmp_path / "docker"
    stub.write_text(f"#!/bin/sh\nprintf '%s' '{stderr}' >&2\nexit {rc}\n")
    stub.chmod(0o755)
    result = Docker(binary=str(stub)).attached("exec", "mc-0123abcd", "true", stdin=subprocess.DEVNULL)
    assert result.code == rc
    assert bool(result.docker_error) is dockers
    assert (stderr.strip() in capfd.readouterr().err) is not dockers  # the command's output is shown
