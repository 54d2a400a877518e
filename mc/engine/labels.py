"""Docker labels: the only state mc keeps about a session."""

SESSION = "mc.session"  # short id; every mc container has it
NAME = "mc.name"
DRIVER = "mc.driver"
PROJECT = "mc.project"  # normalised project id (git URL) or "" for none
MOUNT = "mc.mount"  # host directory mounted at /app, or ""
CREATED = "mc.created"  # ISO 8601 UTC
OWNER = "mc.owner"  # who created it (the daemon's user key; the host user locally)
USER = "mc.user"  # uid:gid the session user runs as
CONNECT = "mc.connect"  # JSON list: the driver's interactive command
SSH = "mc.ssh"  # "1" when sshd runs in the session
VERSION = "mc.version"  # mc version that created it
REMOVE = "mc.rm"  # "1": created with --rm, removed when its command ends (mcd: whatever the client does)
INSTANCE = "mc.instance"  # the mcd installation that made it (mcd manages only its own sessions)
MCPS = "mc.mcps"  # the session's MCP servers, comma-separated (those in containers run beside it)
SIDECAR_OF = "mc.sidecar-of"  # on a container beside a session (an MCP server, its bridge, the egress
# proxy): the session it serves; removed with it
LOGS = "mc.logs"  # where its output goes besides docker's own log: "fluentd ADDRESS, langfuse URL", or ""
EGRESS = "mc.egress"  # the domains a session with an egress policy may reach, comma-separated ("*": open)
DEADLINE = "mc.deadline"  # when its lifetime ends, Unix seconds, as created ("" for none; extend moves it later)
STORAGE = "mc.storage"  # the most its own files may take (docker's --storage-opt size), or ""
IDLE = "mc.idle"  # seconds idle before it stops by itself ("" for never)
CREATING = "mc.creating"  # on a cluster's service while an mcd replica makes it: that replica (removed once made)
CONFIG = "mc.config"  # on a cluster's service: the persistent config it keeps in mcd's vault (its volume's name)
NETWORK = "mc.network"  # on networks mc created: "1", or the owner for an owner's own network

CONTAINER_PREFIX = "mc-"
