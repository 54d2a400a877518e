"""ProjectService: decode, one engine call, encode (records encrypted in the database)."""

from __future__ import annotations

import grpc

from mc.api.v1 import project_pb2, project_pb2_grpc
from mc.remote.convert import project_to_pb
from mcd.interceptor import note
from mcd.servicers.base import EngineScoped, unary


def _credentials(msg: project_pb2.Credentials) -> tuple[bytes | None, str | None, str]:
    kind = msg.WhichOneof("kind")
    return (msg.ssh_private_key if kind == "ssh_private_key" else None,
            msg.token if kind == "token" else None, msg.username)


class ProjectServicer(EngineScoped, project_pb2_grpc.ProjectServiceServicer):
    @unary
    def List(self, request: project_pb2.ListProjectsRequest,
             context: grpc.ServicerContext) -> project_pb2.ListProjectsResponse:
        return project_pb2.ListProjectsResponse(projects=[project_to_pb(p) for p in self._engine().project_list()])

    @unary
    def Add(self, request: project_pb2.AddProjectRequest,
            context: grpc.ServicerContext) -> project_pb2.AddProjectResponse:
        ssh_key, token, username = _credentials(request.credentials)
        project = self._engine().project_add(request.url, ssh_key=ssh_key, token=token, username=username,
                                             name=request.name)
        note(project.id)
        return project_pb2.AddProjectResponse(project=project_to_pb(project))

    @unary
    def Get(self, request: project_pb2.GetProjectRequest,
            context: grpc.ServicerContext) -> project_pb2.GetProjectResponse:
        project = self._engine().project_get(request.url)
        note(project.id)
        return project_pb2.GetProjectResponse(project=project_to_pb(project))

    @unary
    def Update(self, request: project_pb2.UpdateProjectRequest,
               context: grpc.ServicerContext) -> project_pb2.UpdateProjectResponse:
        ssh_key, token, username = _credentials(request.credentials)
        project = self._engine().project_add(request.url, ssh_key=ssh_key, token=token, username=username,
                                             name=request.name, replace=True)
        note(project.id)
        return project_pb2.UpdateProjectResponse(project=project_to_pb(project))

    @unary
    def Remove(self, request: project_pb2.RemoveProjectRequest,
               context: grpc.ServicerContext) -> project_pb2.RemoveProjectResponse:
        project = self._engine().project_remove(request.url)
        note(project.id)
        return project_pb2.RemoveProjectResponse(project=project_to_pb(project))
