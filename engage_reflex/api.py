"""Plain HTTP routes beside the Reflex app: the download of run artefacts and model zips (big files),
and the administrators' job dashboard (rq-dashboard) under /admin/rq."""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from engage_reflex.admin import AdminGate, open_dashboard, to_dashboard
from engage_reflex.db import session_scope
from engage_reflex.services import admin, archives, downloads, runs
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied

MEDIA_TYPES = {".nc": "application/x-netcdf", ".csv": "text/csv", ".log": "text/plain; charset=utf-8",
               ".zip": "application/zip"}


def download_artefact(request: Request) -> Response:
    run_id, name = int(request.path_params["run_id"]), request.path_params["name"]
    query = request.query_params
    try:
        user_id = downloads.check_link(run_id=run_id, name=name, user=query.get("user", ""),
                                       expires=query.get("expires", ""), sig=query.get("sig", ""))
        with session_scope() as session:
            path = runs.run_artefact(session=session, user_id=user_id, run_id=run_id, name=name)
            run = runs.get_run(session=session, user_id=user_id, run_id=run_id)
    except (NotFound, PermissionDenied) as exc:
        return PlainTextResponse(exc.message, status_code=404)
    except EngageError as exc:  # altered, forged or expired link
        return PlainTextResponse(exc.message, status_code=403, headers={"Cache-Control": "no-store"})
    slug = re.sub(r"[^A-Za-z0-9]+", "-", run.model_name).strip("-").lower() or "model"
    # The signed link is a credential for a few minutes: keep it out of caches and referrers.
    kind = f"-{name}" if path.suffix == ".zip" else ""  # the inputs and the outputs zip
    return FileResponse(path, filename=f"{slug}-run-{run_id}{kind}{path.suffix}",
                        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})


def download_export(request: Request) -> Response:
    """A scenario exported as a zip: the link's user must still see the model. The zip stays until it is
    swept an hour later (not deleted once sent: a browser may fetch a download twice)."""
    export_id, query = request.path_params["export_id"], request.query_params
    archives.sweep_exports()
    try:
        user_id = archives.check_export_link(export_id=export_id, user=query.get("user", ""),
                                             expires=query.get("expires", ""), sig=query.get("sig", ""))
        with session_scope() as session:
            path, filename = archives.export_file(session=session, user_id=user_id, export_id=export_id)
    except (NotFound, PermissionDenied) as exc:
        return PlainTextResponse(exc.message, status_code=404, headers={"Cache-Control": "no-store"})
    except EngageError as exc:  # altered, forged or expired link
        return PlainTextResponse(exc.message, status_code=403, headers={"Cache-Control": "no-store"})
    return FileResponse(path, filename=filename, media_type="application/zip",
                        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})


def api() -> Starlette:
    return Starlette(routes=[
        Route(downloads.ROUTE_PREFIX + "/{run_id:int}/{name}", download_artefact, methods=["GET"]),
        Route(archives.EXPORT_ROUTE + "/{export_id}", download_export, methods=["GET"]),
        Route(admin.OPEN_ROUTE, open_dashboard, methods=["GET"]),
        Route(admin.DASHBOARD_ROUTE, to_dashboard),
        Mount(admin.DASHBOARD_ROUTE, app=AdminGate()),
    ])
