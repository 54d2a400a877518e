from mc.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATUS_UNSPECIFIED: _ClassVar[SessionStatus]
    SESSION_STATUS_CREATED: _ClassVar[SessionStatus]
    SESSION_STATUS_RUNNING: _ClassVar[SessionStatus]
    SESSION_STATUS_STOPPED: _ClassVar[SessionStatus]
    SESSION_STATUS_FAILED: _ClassVar[SessionStatus]
    SESSION_STATUS_EXITED: _ClassVar[SessionStatus]
    SESSION_STATUS_GONE: _ClassVar[SessionStatus]
    SESSION_STATUS_OTHER: _ClassVar[SessionStatus]
    SESSION_STATUS_EXPIRED: _ClassVar[SessionStatus]
    SESSION_STATUS_LOST: _ClassVar[SessionStatus]
SESSION_STATUS_UNSPECIFIED: SessionStatus
SESSION_STATUS_CREATED: SessionStatus
SESSION_STATUS_RUNNING: SessionStatus
SESSION_STATUS_STOPPED: SessionStatus
SESSION_STATUS_FAILED: SessionStatus
SESSION_STATUS_EXITED: SessionStatus
SESSION_STATUS_GONE: SessionStatus
SESSION_STATUS_OTHER: SessionStatus
SESSION_STATUS_EXPIRED: SessionStatus
SESSION_STATUS_LOST: SessionStatus

class Port(_message.Message):
    __slots__ = ("container_port", "host_ip", "host_port")
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    HOST_IP_FIELD_NUMBER: _ClassVar[int]
    HOST_PORT_FIELD_NUMBER: _ClassVar[int]
    container_port: int
    host_ip: str
    host_port: int
    def __init__(self, container_port: _Optional[int] = ..., host_ip: _Optional[str] = ..., host_port: _Optional[int] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "name", "driver", "status", "project", "created", "exit_code", "ports", "owner", "ssh", "container", "egress", "egress_policy", "logs", "deadline", "idle_timeout", "storage", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    SSH_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    EGRESS_POLICY_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    driver: str
    status: SessionStatus
    project: str
    created: str
    exit_code: int
    ports: _containers.RepeatedCompositeFieldContainer[Port]
    owner: str
    ssh: bool
    container: str
    egress: _containers.RepeatedScalarFieldContainer[str]
    egress_policy: bool
    logs: str
    deadline: int
    idle_timeout: int
    storage: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., driver: _Optional[str] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., project: _Optional[str] = ..., created: _Optional[str] = ..., exit_code: _Optional[int] = ..., ports: _Optional[_Iterable[_Union[Port, _Mapping]]] = ..., owner: _Optional[str] = ..., ssh: _Optional[bool] = ..., container: _Optional[str] = ..., egress: _Optional[_Iterable[str]] = ..., egress_policy: _Optional[bool] = ..., logs: _Optional[str] = ..., deadline: _Optional[int] = ..., idle_timeout: _Optional[int] = ..., storage: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SessionSpec(_message.Message):
    __slots__ = ("driver", "name", "project", "networks", "env", "ports", "cpus", "memory", "pids_limit", "ssh", "ssh_public_key", "remove_on_exit", "model", "mcps", "default_mcps", "default_model", "allow_domains", "egress_exact", "ttl_seconds", "idle_timeout_seconds", "storage")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    PIDS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SSH_FIELD_NUMBER: _ClassVar[int]
    SSH_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    REMOVE_ON_EXIT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MCPS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MCPS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DOMAINS_FIELD_NUMBER: _ClassVar[int]
    EGRESS_EXACT_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    driver: str
    name: str
    project: str
    networks: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    ports: _containers.RepeatedScalarFieldContainer[int]
    cpus: str
    memory: str
    pids_limit: int
    ssh: bool
    ssh_public_key: str
    remove_on_exit: bool
    model: str
    mcps: _containers.RepeatedScalarFieldContainer[str]
    default_mcps: _containers.RepeatedScalarFieldContainer[str]
    default_model: str
    allow_domains: _containers.RepeatedScalarFieldContainer[str]
    egress_exact: bool
    ttl_seconds: int
    idle_timeout_seconds: int
    storage: str
    def __init__(self, driver: _Optional[str] = ..., name: _Optional[str] = ..., project: _Optional[str] = ..., networks: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., ports: _Optional[_Iterable[int]] = ..., cpus: _Optional[str] = ..., memory: _Optional[str] = ..., pids_limit: _Optional[int] = ..., ssh: _Optional[bool] = ..., ssh_public_key: _Optional[str] = ..., remove_on_exit: _Optional[bool] = ..., model: _Optional[str] = ..., mcps: _Optional[_Iterable[str]] = ..., default_mcps: _Optional[_Iterable[str]] = ..., default_model: _Optional[str] = ..., allow_domains: _Optional[_Iterable[str]] = ..., egress_exact: _Optional[bool] = ..., ttl_seconds: _Optional[int] = ..., idle_timeout_seconds: _Optional[int] = ..., storage: _Optional[str] = ...) -> None: ...

class CreateRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: SessionSpec
    def __init__(self, spec: _Optional[_Union[SessionSpec, _Mapping]] = ...) -> None: ...

class CreateResponse(_message.Message):
    __slots__ = ("session", "warnings")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    session: Session
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: str
    def __init__(self, session: _Optional[str] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class CloseRequest(_message.Message):
    __slots__ = ("sessions", "all", "kill")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    KILL_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    kill: bool
    def __init__(self, sessions: _Optional[_Iterable[str]] = ..., all: _Optional[bool] = ..., kill: _Optional[bool] = ...) -> None: ...

class CloseResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ...) -> None: ...

class StopRequest(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sessions: _Optional[_Iterable[str]] = ...) -> None: ...

class StopResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ...) -> None: ...

class ExtendRequest(_message.Message):
    __slots__ = ("session", "seconds")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    session: str
    seconds: int
    def __init__(self, session: _Optional[str] = ..., seconds: _Optional[int] = ...) -> None: ...

class ExtendResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class StartRequest(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sessions: _Optional[_Iterable[str]] = ...) -> None: ...

class StartResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ...) -> None: ...

class WaitReadyRequest(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: str
    def __init__(self, session: _Optional[str] = ...) -> None: ...

class WaitReadyResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class LogsRequest(_message.Message):
    __slots__ = ("session", "follow", "tail", "since", "egress")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    session: str
    follow: bool
    tail: int
    since: str
    egress: bool
    def __init__(self, session: _Optional[str] = ..., follow: _Optional[bool] = ..., tail: _Optional[int] = ..., since: _Optional[str] = ..., egress: _Optional[bool] = ...) -> None: ...

class LogsResponse(_message.Message):
    __slots__ = ("data", "timestamp")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    timestamp: str
    def __init__(self, data: _Optional[bytes] = ..., timestamp: _Optional[str] = ...) -> None: ...

class AttachInit(_message.Message):
    __slots__ = ("session", "command", "tty", "size", "interactive", "term", "end_session", "resume")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    INTERACTIVE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    END_SESSION_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    session: str
    command: _containers.RepeatedScalarFieldContainer[str]
    tty: bool
    size: _common_pb2.TerminalSize
    interactive: bool
    term: str
    end_session: bool
    resume: str
    def __init__(self, session: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., tty: _Optional[bool] = ..., size: _Optional[_Union[_common_pb2.TerminalSize, _Mapping]] = ..., interactive: _Optional[bool] = ..., term: _Optional[str] = ..., end_session: _Optional[bool] = ..., resume: _Optional[str] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ("number",)
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    number: int
    def __init__(self, number: _Optional[int] = ...) -> None: ...

class AttachRequest(_message.Message):
    __slots__ = ("init", "stdin", "resize", "signal", "close_stdin", "detach", "reauth")
    INIT_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    CLOSE_STDIN_FIELD_NUMBER: _ClassVar[int]
    DETACH_FIELD_NUMBER: _ClassVar[int]
    REAUTH_FIELD_NUMBER: _ClassVar[int]
    init: AttachInit
    stdin: bytes
    resize: _common_pb2.TerminalSize
    signal: Signal
    close_stdin: bool
    detach: bool
    reauth: str
    def __init__(self, init: _Optional[_Union[AttachInit, _Mapping]] = ..., stdin: _Optional[bytes] = ..., resize: _Optional[_Union[_common_pb2.TerminalSize, _Mapping]] = ..., signal: _Optional[_Union[Signal, _Mapping]] = ..., close_stdin: _Optional[bool] = ..., detach: _Optional[bool] = ..., reauth: _Optional[str] = ...) -> None: ...

class Exit(_message.Message):
    __slots__ = ("code", "detached")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETACHED_FIELD_NUMBER: _ClassVar[int]
    code: int
    detached: bool
    def __init__(self, code: _Optional[int] = ..., detached: _Optional[bool] = ...) -> None: ...

class AttachResponse(_message.Message):
    __slots__ = ("stdout", "stderr", "exit", "shell")
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    SHELL_FIELD_NUMBER: _ClassVar[int]
    stdout: bytes
    stderr: bytes
    exit: Exit
    shell: ShellStarted
    def __init__(self, stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., exit: _Optional[_Union[Exit, _Mapping]] = ..., shell: _Optional[_Union[ShellStarted, _Mapping]] = ...) -> None: ...

class ShellStarted(_message.Message):
    __slots__ = ("id", "resumed")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESUMED_FIELD_NUMBER: _ClassVar[int]
    id: str
    resumed: bool
    def __init__(self, id: _Optional[str] = ..., resumed: _Optional[bool] = ...) -> None: ...

class ListShellsRequest(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: str
    def __init__(self, session: _Optional[str] = ...) -> None: ...

class Shell(_message.Message):
    __slots__ = ("id", "started", "waiting_since", "grace_left")
    ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    WAITING_SINCE_FIELD_NUMBER: _ClassVar[int]
    GRACE_LEFT_FIELD_NUMBER: _ClassVar[int]
    id: str
    started: int
    waiting_since: int
    grace_left: int
    def __init__(self, id: _Optional[str] = ..., started: _Optional[int] = ..., waiting_since: _Optional[int] = ..., grace_left: _Optional[int] = ...) -> None: ...

class ListShellsResponse(_message.Message):
    __slots__ = ("shells",)
    SHELLS_FIELD_NUMBER: _ClassVar[int]
    shells: _containers.RepeatedCompositeFieldContainer[Shell]
    def __init__(self, shells: _Optional[_Iterable[_Union[Shell, _Mapping]]] = ...) -> None: ...

class ForwardOpen(_message.Message):
    __slots__ = ("session", "port")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    session: str
    port: int
    def __init__(self, session: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class ForwardRequest(_message.Message):
    __slots__ = ("open", "data", "close_write", "reauth")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CLOSE_WRITE_FIELD_NUMBER: _ClassVar[int]
    REAUTH_FIELD_NUMBER: _ClassVar[int]
    open: ForwardOpen
    data: bytes
    close_write: bool
    reauth: str
    def __init__(self, open: _Optional[_Union[ForwardOpen, _Mapping]] = ..., data: _Optional[bytes] = ..., close_write: _Optional[bool] = ..., reauth: _Optional[str] = ...) -> None: ...

class ForwardResponse(_message.Message):
    __slots__ = ("opened", "data")
    OPENED_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    opened: bool
    data: bytes
    def __init__(self, opened: _Optional[bool] = ..., data: _Optional[bytes] = ...) -> None: ...
