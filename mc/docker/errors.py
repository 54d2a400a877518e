"""docker's stderr -> domain error, in one table (tested against recorded output)."""

from __future__ import annotations

import re

from mc import errors


class ContainerMissing(errors.NotFound):
    """docker knows no such container."""


class NetworkMissing(errors.NotFound):
    """docker knows no such network."""


class ImageMissing(errors.NotFound):
    """docker has no such image (and mc never pulls)."""


# (pattern on stderr, error class, short reason). First match wins.
TABLE: list[tuple[re.Pattern[str], type[errors.McError], str]] = [
    (re.compile(r"Cannot connect to the Docker daemon|Is the docker daemon running|"
                r"error during connect|connect: no such file or directory|dial unix .*: connect"),
     errors.Unavailable, "the Docker engine is not reachable"),
    (re.compile(r"permission denied while trying to connect to the Docker daemon"),
     errors.Unavailable, "no permission to use the Docker engine"),
    (re.compile(r"No such image|Unable to find image|pull access denied|manifest unknown|"
                r"repository does not exist"), ImageMissing, "image not found"),
    (re.compile(r"network .* not found|No such network"), NetworkMissing, "network not found"),
    (re.compile(r"No such container|no such container"), ContainerMissing, "no such container"),
    (re.compile(r"No such object"), errors.NotFound, "no such object"),
    (re.compile(r"is not running|is restarting|is paused"), errors.Conflict, "container is not running"),
    (re.compile(r"Conflict\. The container name|is already in use by container"),
     errors.Conflict, "name already in use"),
    (re.compile(r"already exists"), errors.Conflict, "already exists"),
    (re.compile(r"removal of container .* is already in progress"), errors.Conflict, "removal in progress"),
    (re.compile(r"invalid reference format|invalid argument|invalid mount config|invalid volume|"
                r"invalid port|bind source path does not exist|Invalid containerPort|"
                r"unknown flag|requires at least|invalid publish"), errors.InvalidArgument, "invalid argument"),
    (re.compile(r"Minimum memory limit|Range of CPUs|cannot be greater than|invalid value"),
     errors.InvalidArgument, "invalid resource limit"),
]


def classify(stderr: str) -> tuple[type[errors.McError], str]:
    for pattern, cls, reason in TABLE:
        if pattern.search(stderr):
            return cls, reason
    return errors.McError, "docker failed"


def first_line(stderr: str) -> str:
    """docker's own message, without the 'Error response from daemon:' noise."""
    for line in stderr.strip().splitlines():
        line = line.strip()
        if not line or line.startswith(("WARNING", "DEPRECATED", "See '")):
            continue
        for prefix in ("Error response from daemon: ", "Error: ", "docker: "):
            if line.startswith(prefix):
                line = line[len(prefix):]
        return line
    return ""
