"""The drivers an engine offers, and their images: resolve a reference, describe, build, prune."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from mc.docker import Docker
from mc.drivers import registry
from mc.drivers.manifest import Manifest
from mc.drivers.registry import Driver
from mc.errors import InvalidArgument

Progress = Callable[[str], None]  # a line of build output for whoever shows it


class DriverCatalog:
    """Built-in and user drivers, driver directories (with host access), and an operator's extra
    drivers by name (mcd's ``drivers:``)."""

    def __init__(self, docker: Docker, extra_ca: tuple[str, ...] = (), driver_dirs: Mapping[str, str] | None = None,
                 host_access: bool = True, driver_images: Mapping[str, str] | None = None) -> None:
        self.docker = docker
        self.extra_ca = extra_ca
        self.driver_dirs = dict(driver_dirs or {})
        self.host_access = host_access
        self.driver_images = dict(driver_images or {})  # name -> registry reference (mcd's drivers: image)
        self._manifests: dict[str, Manifest] = {}

    def _images(self) -> dict[str, str]:
        return {**(registry.user_images() if self.host_access else {}), **self.driver_images}

    def _image_driver(self, name: str, ref: str, pull: bool = True) -> Driver:
        """A driver that is an image: its manifest from the image's label (pulled when missing)."""
        from mc.drivers.images import manifest_of

        if ref not in self._manifests:
            found = manifest_of(self.docker, ref, pull=pull)
            if found is None:  # not here, and not pulled (a listing): the name is all there is
                return Driver(name, Path(), "image", Manifest(name=name, description=f"{ref} (not pulled yet)"),
                              image=ref)
            self._manifests[ref] = found
        return Driver(name, Path(), "image", self._manifests[ref], image=ref)

    def resolve(self, ref: str) -> Driver:
        """A driver by name, or by directory when the caller has host access."""
        if not ref or len(ref) > 256 or not ref.isprintable():
            raise InvalidArgument("a driver is a name (or a directory, locally)")
        if ref in self.driver_dirs:
            driver = registry.resolve(os.path.abspath(self.driver_dirs[ref]))
            driver.name, driver.source = ref, "user"
            return driver
        images = self._images()
        if ref in images:
            return self._image_driver(ref, images[ref])
        if not self.host_access and ("/" in ref or ref.startswith((".", "~"))):
            raise InvalidArgument(f"driver '{ref}': a remote session takes a driver name, not a path")
        return registry.resolve(ref)

    def all(self) -> list[Driver]:
        drivers = {d.name: d for d in registry.all_drivers()}
        for name in self.driver_dirs:
            drivers[name] = self.resolve(name)
        for name, ref in self._images().items():
            drivers[name] = self._image_driver(name, ref, pull=False)
        return [d for _, d in sorted(drivers.items())]

    def extra_ca_paths(self) -> list[Path]:
        from mc.drivers.build import extra_ca_paths

        return extra_ca_paths(list(self.extra_ca))

    def image(self, driver: Driver) -> str:
        """The tag of the driver's current content (built or not); a registry driver's reference."""
        from mc.drivers.build import image_tag

        if driver.image:
            return driver.image
        return image_tag(driver, self.extra_ca_paths())

    def built_images(self) -> set[str]:
        out = self.docker.text("images", "--filter", "label=mc.driver", "--format", "{{.Repository}}:{{.Tag}}")
        return set(out.split())

    def build(self, driver: Driver, *, no_cache: bool = False, progress: Progress | None = None) -> str:
        """Build the image unless it exists (pull a registry driver's); its tag."""
        from mc.drivers.build import build

        if driver.image:
            from mc.drivers.images import pull_image

            pull_image(self.docker, driver.image, progress)
            return driver.image
        return build(self.docker, driver, self.extra_ca_paths(), no_cache=no_cache, progress=progress)

    def prune(self) -> list[str]:
        """Remove driver images that are no driver's current version and that no container uses
        (a changed driver leaves its previous image behind)."""
        current = {self.image(d) for d in self.all()}
        removed = []
        for image in sorted(self.built_images() - current):
            if self.docker.run("image", "rm", image, check=False).returncode == 0:
                removed.append(image)
        return removed
