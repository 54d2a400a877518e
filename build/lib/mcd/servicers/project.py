"""ProjectService: thin adapter over the engine's project methods (records encrypted in the database)."""

from __future__ import annotations

from typing import Any

import grpc

from mc.api.v1 import project_pb2, project_pb2_grpc
from mc.remote.convert import project_to_pb
from mcd.servicers.base import Base, unary


def _credentials(msg: project_pb2.Credentials) -> dict[str, Any]:
    kind = msg.WhichOneof("kind")
    return {
        "ssh_key": msg.ssh_private_key if kind == "ssh_private_key" else None,
        "token": msg.token if kind == "token" else None,
        "username": msg.username,
    }


class ProjectServicer(Base, project_pb2_grpc.ProjectServiceServicer):
    @unary
    def List(self, request: project_pb2.ListProjectsRequest, context: grpc.ServicerContext) -> Any:
        return project_pb2.ListProjectsResponse(projects=[project_to_pb(p) for p in self.engine().project_list()])

    @unary
    def Add(self, request: project_pb2.AddProjectRequest, context: grpc.ServicerContext) -> Any:
        project = self.engine().project_add(request.url, name=request.name, **_credentials(request.credentials))
        return project_pb2.AddProjectResponse(project=project_to_pb(project))

    @unary
    def Get(self, request: project_pb2.GetProjectRequest, context: grpc.ServicerContext) -> Any:
        return project_pb2.GetProjectResponse(project=project_to_pb(self.engine().project_get(request.url)))

    @unary
    def Update(self, request: project_pb2.UpdateProjectRequest, context: grpc.ServicerContext) -> Any:
        engine = self.engine()
        current = engine.project_get(request.url)
        project = engine.project_add(request.url, name=request.name or current.name, replace=True,
                                     **_credentials(request.credentials))
        return project_pb2.UpdateProjectResponse(project=project_to_pb(project))

    @unary
    def Remove(self, request: project_pb2.RemoveProjectRequest, context: grpc.ServicerContext) -> Any:
        return project_pb2.RemoveProjectResponse(project=project_to_pb(self.engine().project_remove(request.url)))
