"""McpService: decode, one engine call, encode (records encrypted in the database, per user)."""

from __future__ import annotations

import grpc

from mc.api.v1 import mcp_pb2, mcp_pb2_grpc
from mc.engine.local import LocalBackend
from mc.remote.convert import mcp_from_pb, mcp_to_pb
from mcd.interceptor import note
from mcd.servicers.base import Scoped, unary
from mcd.users import Users


class McpServicer(Scoped, mcp_pb2_grpc.McpServiceServicer):
    def __init__(self, engine: LocalBackend, users: Users) -> None:
        super().__init__(users)
        self.engine = engine

    def _engine(self) -> LocalBackend:
        return self.engine.scoped(self.scope())

    @unary
    def List(self, request: mcp_pb2.ListMcpServersRequest,
             context: grpc.ServicerContext) -> mcp_pb2.ListMcpServersResponse:
        return mcp_pb2.ListMcpServersResponse(servers=[mcp_to_pb(s) for s in self._engine().mcp_list()])

    @unary
    def Add(self, request: mcp_pb2.AddMcpServerRequest, context: grpc.ServicerContext) -> mcp_pb2.AddMcpServerResponse:
        server = self._engine().mcp_add(mcp_from_pb(request.server), replace=request.replace)
        note(server.name)
        return mcp_pb2.AddMcpServerResponse(server=mcp_to_pb(server))

    @unary
    def Get(self, request: mcp_pb2.GetMcpServerRequest, context: grpc.ServicerContext) -> mcp_pb2.GetMcpServerResponse:
        server = self._engine().mcp_get(request.name)
        note(server.name)
        return mcp_pb2.GetMcpServerResponse(server=mcp_to_pb(server))

    @unary
    def Remove(self, request: mcp_pb2.RemoveMcpServerRequest,
               context: grpc.ServicerContext) -> mcp_pb2.RemoveMcpServerResponse:
        server = self._engine().mcp_remove(request.name)
        note(server.name)
        return mcp_pb2.RemoveMcpServerResponse(server=mcp_to_pb(server))
