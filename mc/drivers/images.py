"""Drivers that are images in a registry: mc writes a driver's manifest into its image's labels, so
an mc-built image describes itself; such an image is used as it is (pulled, never built), and
``mc driver build NAME --push REF`` publishes one."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mc.errors import InvalidArgument, McError, NotFound

if TYPE_CHECKING:
    from mc.docker import Docker
    from mc.drivers.manifest import Manifest

MANIFEST_LABEL = "mc.driver.manifest"  # the driver's mc-driver.yaml, as it was built
MAX_MANIFEST = 64 * 1024
PULL_TIMEOUT = 1800.0


def label_text(manifest_file: Path, name: str) -> str:
    """The manifest as the image's label: the file, less the defaults of sensitive variables (a
    label is in every ``docker inspect`` of the image and travels with it to a registry)."""
    import yaml

    if not manifest_file.is_file():
        return f"name: {name}\n"
    text = manifest_file.read_text()
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("environment"), list):
        return text
    changed = False
    for item in data["environment"]:
        if isinstance(item, dict) and item.get("sensitive") and "default" in item:
            del item["default"]
            changed = True
    return yaml.safe_dump(data, sort_keys=False) if changed else text


def check_reference(ref: str) -> str:
    """An image reference as a caller gives it (registry/repository:tag or @digest), nothing else."""
    import re

    if not re.match(r"^[a-z0-9][a-z0-9._:/-]{0,250}(?::[\w.-]{1,128})?(?:@sha256:[0-9a-f]{64})?$", ref) \
            or ".." in ref or ref.startswith("-"):
        raise InvalidArgument(f"{ref[:80]!r}: expected an image reference such as registry.example.com/mc-goose:1.2")
    return ref


def manifest_of(docker: Docker, ref: str, *, pull: bool = True) -> Manifest | None:
    """The manifest in the image's label (the image pulled first when missing and ``pull``); None
    when it is missing and not pulled."""
    import yaml

    from mc.drivers import manifest as manifest_mod

    check_reference(ref)
    text = _label(docker, ref)
    if text is None:
        if not pull:
            return None
        pull_image(docker, ref, None)
        text = _label(docker, ref)
    if not text:
        raise NotFound(f"image {ref} has no mc driver manifest (label {MANIFEST_LABEL}); publish drivers with "
                       "mc driver build NAME --push REF")
    if len(text) > MAX_MANIFEST:
        raise InvalidArgument(f"image {ref}: its driver manifest is larger than {MAX_MANIFEST // 1024} KiB")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise InvalidArgument(f"image {ref}: its driver manifest is not YAML") from None
    return manifest_mod.parse(data, f"{ref} ({MANIFEST_LABEL})")


def _label(docker: Docker, ref: str) -> str | None:
    """The manifest label ("" when the image has none), or None when docker has no such image."""
    proc = docker.run("image", "inspect", "--format", f'{{{{index .Config.Labels "{MANIFEST_LABEL}"}}}}', ref,
                      check=False, timeout=30)
    if proc.returncode != 0:
        return None
    text = proc.stdout.decode(errors="replace").rstrip("\n")
    return "" if text == "<no value>" else text


def pull_image(docker: Docker, ref: str, progress: Callable[[str], None] | None) -> None:
    """``docker pull`` (credentials are docker's own: ``docker login``); one line when it fails."""
    check_reference(ref)
    if progress:
        progress(f"mc: pulling {ref}\n")
    proc = docker.run("pull", "-q", ref, check=False, timeout=PULL_TIMEOUT)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise McError(f"cannot pull {ref}: {err[-1] if err else 'docker pull failed'}")


def push(docker: Docker, tag: str, manifest_text: str, ref: str) -> str:
    """Publish a built driver image as ``ref``, its manifest in its labels (an image built before mc
    wrote that label gets it in a layer-less image on top). Returns the pushed digest reference."""
    check_reference(ref)
    build = subprocess.run([*docker.argv("build", "-q", "--label", f"{MANIFEST_LABEL}={manifest_text}", "-t", ref,
                                         "-")], input=f"FROM {tag}\n".encode(), capture_output=True,
                           env=docker.env, timeout=300)
    if build.returncode != 0:
        raise McError(f"cannot tag {tag} as {ref}: {build.stderr.decode(errors='replace').strip()[-300:]}")
    proc = docker.run("push", ref, check=False, timeout=PULL_TIMEOUT)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise McError(f"cannot push {ref}: {err[-1] if err else 'docker push failed'}")
    digest = docker.text("image", "inspect", "--format", "{{index .RepoDigests 0}}", ref, timeout=30).strip()
    return digest or ref
