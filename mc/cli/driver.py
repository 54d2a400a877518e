"""mc driver: list, show, build and add drivers (container templates)."""

from __future__ import annotations

from typing import Annotated

from cyclopts import App, Parameter

from mc.cli import context, render
from mc.cli.render import Output

app = App(name="driver", help="List, inspect, build and add drivers (container templates).")


@app.command(name="list")
def list_(*, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """List the available drivers.

    Parameters
    ----------
    output
        table or json.
    """
    drivers = context.backend().drivers()
    if output == "json":
        render.emit_json([d.to_dict() for d in drivers])
        return
    rows = [(d.name, d.source, "yes" if d.built else "no", d.version, d.description) for d in drivers]
    render.emit_table(rows, ["name", "source", "built", "version", "description"])


@app.command
def info(name: str, *, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Show a driver: its manifest, image and variables.

    Parameters
    ----------
    name
        Driver name (or directory, in local mode).
    output
        table or json.
    """
    d = context.backend().driver(name)
    if output == "json":
        render.emit_json(d.to_dict())
        return
    print(f"name:        {d.name}\ndescription: {d.description}\nversion:     {d.version}")
    print(f"source:      {d.source} ({d.path})\nimage:       {d.image} ({'built' if d.built else 'not built'})")
    if d.environment:
        print("environment:")
        for e in d.environment:
            flags = ", ".join(f for f in ("required" if e.required else "", "sensitive" if e.sensitive else "") if f)
            default = f" (default {e.default})" if e.default else ""
            print(f"  {e.name}{default}{' [' + flags + ']' if flags else ''}: {e.description}")
    if d.persistent_configs:
        print("persistent configs:")
        for p in d.persistent_configs:
            print(f"  {p.source} -> {p.target} ({p.type}): {p.description}")
    print(f"models:      {', '.join(d.model_providers) + ' (--model PROVIDER/MODEL)' if d.model_providers else 'no'}")
    print(f"mcp:         {'yes, in ' + d.mcp + ' form (--mcp NAME)' if d.mcp else 'no'}")
    print(f"egress:      {', '.join(d.egress) or '-'} (allowed under an egress policy)")


@app.command
def build(name: str, *, no_cache: bool = False, push: str = "",
          output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Build a driver's image (a no-op when the image of its current content exists).

    Parameters
    ----------
    name
        Driver name or directory.
    no_cache
        Do not use the build cache.
    push
        Then publish it as this image reference (registry/name:tag; docker login first where the
        registry asks): an image with its manifest in its labels, usable with mc driver pull and mcd's
        drivers: [{name, image}].
    output
        table (progress on stderr) or json (quiet; the image tag as JSON).
    """
    backend = context.backend()
    progress = None if output == "json" else render.progress
    tag = backend.build_driver(name, no_cache=no_cache, progress=progress)
    pushed = backend.push_driver(name, push, progress=progress) if push else ""
    if output == "json":
        render.emit_json({"driver": name, "image": tag, **({"pushed": pushed} if push else {})})
    else:
        render.say(f"built {tag}" + (f", pushed {pushed}" if push else ""))


@app.command
def pull(ref: str, *, name: str = "", output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Pull a driver image from a registry (one mc built and pushed) and add it as a driver.

    Parameters
    ----------
    ref
        The image reference (registry/name:tag); docker login first where the registry asks.
    name
        The name to use (default: its manifest's).
    output
        table or json (the driver).
    """
    info = context.backend().pull_driver(ref, name, progress=None if output == "json" else render.progress)
    if output == "json":
        render.emit_json(info.to_dict())
    else:
        render.say(f"driver '{info.name}' added ({ref})")


@app.command
def add(path: str, *, name: str | None = None) -> None:
    """Register a driver directory (Dockerfile, optional mc-driver.yaml) under your config.

    Parameters
    ----------
    path
        The driver directory.
    name
        Name to register it under (default: the manifest's name or the directory's).
    """
    from mc.drivers import registry

    _local_only("add")
    driver = registry.add(path, name)
    render.say(f"driver '{driver.name}' added ({driver.path})")


@app.command
def remove(name: str) -> None:
    """Unregister a driver added with mc driver add.

    Parameters
    ----------
    name
        The user driver's name.
    """
    from mc.drivers import registry

    _local_only("remove")
    registry.remove(name)
    render.say(f"driver '{name}' removed")


def _local_only(verb: str) -> None:
    if context.remote_name():
        from mc.errors import InvalidArgument

        raise InvalidArgument(f"mc driver {verb} changes this machine's drivers; a remote's drivers are its "
                              "operator's (drivers: in mc-service.yaml)")


@app.command
def prune(*, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Remove images of previous driver versions (and of unregistered path drivers) no session uses.

    Parameters
    ----------
    output
        table or json (the images removed).
    """
    removed = context.backend().prune_images()
    if output == "json":
        render.emit_json(removed)
        return
    for image in removed:
        render.say(f"removed {image}")
    render.say(f"{len(removed)} image(s) removed")


config_app = App(name="config", help="Your own configuration of a driver's tool, for its sessions.")
app.command(config_app)


@config_app.command(name="import")
def import_(
    name: str,
    *,
    project: Annotated[str | None, Parameter(alias="-p")] = None,
    mount: Annotated[str | None, Parameter(alias="-m")] = None,
    with_history: bool = False,
    output: Annotated[Output, Parameter(alias="-o")] = "table",
) -> None:
    """Copy your own configuration of the driver's tool (its login and settings: ~/.claude,
    ~/.config/goose, ~/.config/opencode, ...) into the persistent config of a project or a directory,
    so its sessions start with it. Caches and history stay behind unless asked; files are kept 0600.

    Parameters
    ----------
    name
        The driver (its manifest names what to copy).
    project
        The project (git URL) whose sessions get it (the only choice on a remote).
    mount
        The directory whose sessions get it (default: the current directory, locally).
    with_history
        Also copy the tool's caches and history.
    output
        table or json.
    """
    import os
    from pathlib import Path

    from mc.drivers.userconfig import MAX_ARCHIVE, MAX_UPLOAD, Source, pack
    from mc.errors import InvalidArgument

    backend = context.backend()
    remote = context.remote_name() is not None
    if project and mount:
        raise InvalidArgument("give either --project or --mount, not both")
    if not project and not mount and not remote:
        mount = os.getcwd()
    info = backend.driver(name)
    sources = [Source(p.source, p.target, p.type, tuple(p.import_skip)) for p in info.persistent_configs]
    packed = pack(sources, Path.home(), with_history=with_history,
                  limit=MAX_UPLOAD if remote else MAX_ARCHIVE)
    if not packed.found:
        wanted = ", ".join(s.source for s in sources if s.source.startswith("~/")) or "nothing"
        raise InvalidArgument(f"none of {wanted} is on this machine: nothing to import for {info.name}")
    done = backend.config_import(info.name, packed.archive, project=project or "", mount=mount or "")
    if output == "json":
        render.emit_json({"driver": done.driver, "into": done.into, "files": done.files, "size": done.size,
                          "sources": packed.found, "skipped": packed.skipped})
        return
    left = f"; {packed.skipped} entries of caches and history left out (--with-history)" if packed.skipped else ""
    render.say(f"imported {', '.join(packed.found)} for {done.driver} into {done.into}: {done.files} files, "
               f"{done.size} bytes{left}")
