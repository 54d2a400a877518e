from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DriverVariable(_message.Message):
    __slots__ = ("name", "description", "required", "default", "sensitive")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    required: bool
    default: str
    sensitive: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., required: _Optional[bool] = ..., default: _Optional[str] = ..., sensitive: _Optional[bool] = ...) -> None: ...

class Driver(_message.Message):
    __slots__ = ("name", "description", "version", "source", "image", "built", "environment", "ports", "persistent_configs", "model_providers", "mcp", "egress")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    BUILT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_CONFIGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    MCP_FIELD_NUMBER: _ClassVar[int]
    EGRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    version: str
    source: str
    image: str
    built: bool
    environment: _containers.RepeatedCompositeFieldContainer[DriverVariable]
    ports: _containers.RepeatedScalarFieldContainer[int]
    persistent_configs: _containers.RepeatedCompositeFieldContainer[PersistentConfig]
    model_providers: _containers.RepeatedScalarFieldContainer[str]
    mcp: str
    egress: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., version: _Optional[str] = ..., source: _Optional[str] = ..., image: _Optional[str] = ..., built: _Optional[bool] = ..., environment: _Optional[_Iterable[_Union[DriverVariable, _Mapping]]] = ..., ports: _Optional[_Iterable[int]] = ..., persistent_configs: _Optional[_Iterable[_Union[PersistentConfig, _Mapping]]] = ..., model_providers: _Optional[_Iterable[str]] = ..., mcp: _Optional[str] = ..., egress: _Optional[_Iterable[str]] = ...) -> None: ...

class PersistentConfig(_message.Message):
    __slots__ = ("source", "target", "type", "description", "import_skip")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMPORT_SKIP_FIELD_NUMBER: _ClassVar[int]
    source: str
    target: str
    type: str
    description: str
    import_skip: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ..., type: _Optional[str] = ..., description: _Optional[str] = ..., import_skip: _Optional[_Iterable[str]] = ...) -> None: ...

class ListDriversRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListDriversResponse(_message.Message):
    __slots__ = ("drivers",)
    DRIVERS_FIELD_NUMBER: _ClassVar[int]
    drivers: _containers.RepeatedCompositeFieldContainer[Driver]
    def __init__(self, drivers: _Optional[_Iterable[_Union[Driver, _Mapping]]] = ...) -> None: ...

class GetDriverRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDriverResponse(_message.Message):
    __slots__ = ("driver",)
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    driver: Driver
    def __init__(self, driver: _Optional[_Union[Driver, _Mapping]] = ...) -> None: ...

class ImportConfigRequest(_message.Message):
    __slots__ = ("driver", "project", "archive")
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_FIELD_NUMBER: _ClassVar[int]
    driver: str
    project: str
    archive: bytes
    def __init__(self, driver: _Optional[str] = ..., project: _Optional[str] = ..., archive: _Optional[bytes] = ...) -> None: ...

class ImportConfigResponse(_message.Message):
    __slots__ = ("files", "size", "project")
    FILES_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    files: int
    size: int
    project: str
    def __init__(self, files: _Optional[int] = ..., size: _Optional[int] = ..., project: _Optional[str] = ...) -> None: ...
