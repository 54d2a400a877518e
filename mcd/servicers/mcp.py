"""McpService: decode, one engine call, encode (records encrypted in the database, per user)."""

from __future__ import annotations

import grpc

from mc.api.v1 import mcp_pb2, mcp_pb2_grpc
from mc.remote.convert import mcp_from_pb, mcp_to_pb
from mcd.interceptor import note
from mcd.servicers.base import EngineScoped, unary


class McpServicer(EngineScoped, mcp_pb2_grpc.McpServiceServicer):
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
