"""DriverService: decode, one engine call, encode."""

from __future__ import annotations

import grpc

from mc.api.v1 import driver_pb2, driver_pb2_grpc
from mc.remote.convert import driver_to_pb
from mcd.interceptor import note
from mcd.servicers.base import EngineScoped, unary


class DriverServicer(EngineScoped, driver_pb2_grpc.DriverServiceServicer):
    @unary
    def List(self, request: driver_pb2.ListDriversRequest,
             context: grpc.ServicerContext) -> driver_pb2.ListDriversResponse:
        return driver_pb2.ListDriversResponse(drivers=[driver_to_pb(d) for d in self.engine.drivers()])

    @unary
    def Get(self, request: driver_pb2.GetDriverRequest, context: grpc.ServicerContext) -> driver_pb2.GetDriverResponse:
        return driver_pb2.GetDriverResponse(driver=driver_to_pb(self.engine.driver(request.name)))

    @unary
    def ImportConfig(self, request: driver_pb2.ImportConfigRequest,
                     context: grpc.ServicerContext) -> driver_pb2.ImportConfigResponse:
        done = self._engine().config_import(request.driver, request.archive, project=request.project)
        note(f"{done.driver} {done.into}")
        return driver_pb2.ImportConfigResponse(files=done.files, size=done.size, project=done.into)
