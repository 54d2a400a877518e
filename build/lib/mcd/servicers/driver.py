"""DriverService: thin adapter over the engine."""

from __future__ import annotations

from typing import Any

import grpc

from mc.api.v1 import driver_pb2, driver_pb2_grpc
from mc.remote.convert import driver_to_pb
from mcd.servicers.base import Base, unary


class DriverServicer(Base, driver_pb2_grpc.DriverServiceServicer):
    @unary
    def List(self, request: driver_pb2.ListDriversRequest, context: grpc.ServicerContext) -> Any:
        return driver_pb2.ListDriversResponse(drivers=[driver_to_pb(d) for d in self.engine().drivers()])

    @unary
    def Get(self, request: driver_pb2.GetDriverRequest, context: grpc.ServicerContext) -> Any:
        return driver_pb2.GetDriverResponse(driver=driver_to_pb(self.engine().driver(request.name)))
