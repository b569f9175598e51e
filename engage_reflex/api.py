"""Plain HTTP routes beside the Reflex app: the download of run artefacts and model zips (big files),
and the administrators' job dashboard (rq-dashboard) under /admin/rq."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from engage_reflex.admin import AdminGate, open_dashboard, to_dashboard
from engage_reflex.db import session_scope
from engage_reflex.services import admin, archives, downloads, runs, storage
from engage_reflex.services.errors import EngageError, NotFound, PermissionDenied

MEDIA_TYPES = {".nc": "application/x-netcdf", ".csv": "text/csv", ".log": "text/plain; charset=utf-8",
               ".zip": "application/zip"}


def download_artefact(request: Request) -> Response:
    run_id, name = int(request.path_params["run_id"]), request.path_params["name"]
    query = request.query_params
    try:
        # user 0: a visitor without a login, who may download only a public model's runs.
        user_id = downloads.check_link(run_id=run_id, name=name, user=query.get("user", ""),
                                       expires=query.get("expires", ""), sig=query.get("sig", "")) or None
        with session_scope() as session:
            key = runs.run_artefact(session=session, user_id=user_id, run_id=run_id, name=name)
            run = runs.get_run(session=session, user_id=user_id, run_id=run_id)
    except (NotFound, PermissionDenied) as exc:
        return PlainTextResponse(exc.message, status_code=404)
    except storage.StoreUnreachable as exc:
        return PlainTextResponse(exc.message, status_code=503, headers={"Cache-Control": "no-store"})
    except EngageError as exc:  # altered, forged or expired link
        return PlainTextResponse(exc.message, status_code=403, headers={"Cache-Control": "no-store"})
    slug = re.sub(r"[^A-Za-z0-9]+", "-", run.model_name).strip("-").lower() or "model"
    suffix = PurePosixPath(key).suffix
    kind = f"-{name}" if suffix == ".zip" else ""  # the inputs and the outputs zip
    return _stored_file_response(key, filename=f"{slug}-run-{run_id}{kind}{suffix}",
                                 media_type=MEDIA_TYPES.get(suffix, "application/octet-stream"))


def _stored_file_response(key: str, *, filename: str, media_type: str) -> Response:
    """A file of the run files store as a download: a local store's file as it is, an S3 object
    streamed through in chunks (starlette iterates the generator in a thread)."""
    # The signed link is a credential for a few minutes: keep it out of caches and referrers.
    headers = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
    store = storage.get_store()
    try:
        if store.is_local:
            return FileResponse(store.local_path(key), filename=filename, media_type=media_type, headers=headers)
        size = store.size(key)
    except storage.StoreUnreachable as exc:
        return PlainTextResponse(exc.message, status_code=503, headers={"Cache-Control": "no-store"})
    except FileNotFoundError:  # gone between the check and now (deleted or swept)
        return PlainTextResponse("This file is no longer here.", status_code=404, headers={"Cache-Control": "no-store"})
    headers.update({"Content-Disposition": f'attachment; filename="{filename}"', "Content-Length": str(size)})
    return StreamingResponse(store.iter_bytes(key), media_type=media_type, headers=headers)


def download_export(request: Request) -> Response:
    """A scenario exported as a zip: the link's user must still see the model. The zip stays until it is
    swept an hour later (not deleted once sent: a browser may fetch a download twice)."""
    export_id, query = request.path_params["export_id"], request.query_params
    try:
        archives.sweep_exports()
        user_id = archives.check_export_link(export_id=export_id, user=query.get("user", ""),
                                             expires=query.get("expires", ""), sig=query.get("sig", ""))
        with session_scope() as session:
            key, filename = archives.export_file(session=session, user_id=user_id, export_id=export_id)
    except (NotFound, PermissionDenied) as exc:
        return PlainTextResponse(exc.message, status_code=404, headers={"Cache-Control": "no-store"})
    except storage.StoreUnreachable as exc:
        return PlainTextResponse(exc.message, status_code=503, headers={"Cache-Control": "no-store"})
    except EngageError as exc:  # altered, forged or expired link
        return PlainTextResponse(exc.message, status_code=403, headers={"Cache-Control": "no-store"})
    return _stored_file_response(key, filename=filename, media_type="application/zip")


def api() -> Starlette:
    return Starlette(routes=[
        Route(downloads.ROUTE_PREFIX + "/{run_id:int}/{name}", download_artefact, methods=["GET"]),
        Route(archives.EXPORT_ROUTE + "/{export_id}", download_export, methods=["GET"]),
        Route(admin.OPEN_ROUTE, open_dashboard, methods=["GET"]),
        Route(admin.DASHBOARD_ROUTE, to_dashboard),
        Mount(admin.DASHBOARD_ROUTE, app=AdminGate()),
    ])
