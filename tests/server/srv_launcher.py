"""A test server: the real ebonite-server application under uvicorn, plus ``POST /_test/reset``, which
switches it to a fresh, empty store (a new local directory, or a new SQLite file and a new S3 bucket), so
that each contract test starts empty without a new server. Nothing is deleted by a reset. And
``POST /_test/damage/{model_id}``, which breaks the model's record in the store behind the server as a hand
edit would (the metadata contract's ``damage_model_record``). And ``POST``/``GET /_test/foreign/{name}``, which
put a user's files where a key called ``name`` would be in the store behind the server, and tell whether they
are all still there (the artifact contract's ``foreign_entries``).

The test routes are defined here, in the test tree, and mounted with ``create_app(routes=...)``: `ebonite
serve` has no option, variable or setting that could enable it in production. Run as a script::

    python srv_launcher.py --kind local --root DIR            # the admin token is in DIR/token
    python srv_launcher.py --kind sql-s3 --root DIR --s3-endpoint http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# run as a script, outside pytest's pythonpath: sql_servers, and the services.py it imports
sys.path.insert(0, str(Path(__file__).parents[1] / "sqlalchemy"))
sys.path.insert(0, str(Path(__file__).parents[1]))

import uvicorn
from ebonite_server.access import ServerContext
from ebonite_server.app import create_app
from ebonite_server.auth import principal_of
from ebonite_server.serve import bind
from ebonite_server.state import ServerState
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ebonite_core import Ebonite
from ebonite_core.plugins import resolve
from ebonite_core.repository import KEY_MARKER, key_marker
from ebonite_core.repository.records import RecordMetadataRepository
from ebonite_core.testing.fixtures import damage_through_the_primitives


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=["local", "sql-s3"], required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--s3-endpoint")
    args = parser.parse_args()
    counter = itertools.count()

    def fresh_registry() -> Ebonite:
        number = next(counter)
        if args.kind == "local":
            return Ebonite.local(args.root / f"store-{number}", durable=False)
        import boto3

        bucket = f"t-{uuid.uuid4().hex[:20]}"
        boto3.client("s3", endpoint_url=args.s3_endpoint).create_bucket(Bucket=bucket)
        # A copy of an empty database migrated once: migrating each new database would cost most of a reset.
        template = args.root / "metadata-template.db"
        if not template.exists():
            resolve("metadata", "sqlalchemy")(f"sqlite:///{template}").close()
        database = args.root / f"metadata-{number}.db"
        shutil.copyfile(template, database)
        return Ebonite.custom_client(
            "sqlalchemy",
            "s3",
            meta_kwargs={"db_uri": f"sqlite:///{database}"},
            artifact_kwargs={"bucket_name": bucket, "endpoint": args.s3_endpoint},
        )

    state = ServerState(args.root / "state.sqlite3")
    token, _ = state.create_token("*", "admin", "test launcher")
    (args.root / "token").write_text(token)
    context = ServerContext(fresh_registry(), state)
    # The next store is made while the current test runs (an S3 client takes a few hundred milliseconds).
    builder = ThreadPoolExecutor(max_workers=1)
    upcoming = [builder.submit(fresh_registry)]

    async def is_admin(request: Request) -> bool:
        principal = await run_in_threadpool(principal_of, request, state)
        return principal.registry_wide_rank() == 2

    async def reset(request: Request) -> Response:
        if not await is_admin(request):
            return Response(status_code=403)
        previous, context.registry = context.registry, await run_in_threadpool(upcoming.pop().result)
        upcoming.append(builder.submit(fresh_registry))
        previous.close()
        state.forget_all_keys()
        return Response(status_code=204)

    def damage_model_record(model_id: str) -> None:
        meta = context.registry.meta_repo
        model = meta.get_model_by_id(model_id)
        assert model is not None, model_id
        if isinstance(meta, RecordMetadataRepository):
            damage_through_the_primitives(meta, model)
        else:
            import sql_helpers  # SQLAlchemy is imported only where the store is SQL

            sql_helpers.empty_the_model_document(meta, model)

    async def damage(request: Request) -> Response:
        if not await is_admin(request):
            return Response(status_code=403)
        await run_in_threadpool(damage_model_record, request.path_params["model_id"])
        return Response(status_code=204)

    inner = "0" * 32  # a registry nested under the store's root: a key with its marker, one level down
    foreign_files = {"config.json": b"{}", f"{inner}/{KEY_MARKER}": key_marker(inner), f"{inner}/model.pkl": b"theirs"}

    def foreign_entries(name: str, plant: bool) -> bool:
        repo = context.registry.artifact_repo
        present = True
        for path, content in foreign_files.items():
            if args.kind == "local":
                where = repo.root / name / path
                if plant:
                    where.parent.mkdir(parents=True, exist_ok=True)
                    where.write_bytes(content)
                present = present and where.is_file()
            elif plant:
                repo.client.put_object(Bucket=repo.bucket_name, Key=f"{repo._root}{name}/{path}", Body=content)
            else:
                listing = repo.client.list_objects_v2(Bucket=repo.bucket_name, Prefix=f"{repo._root}{name}/{path}")
                present = present and listing.get("KeyCount", 0) == 1
        return present

    async def foreign(request: Request) -> Response:
        if not await is_admin(request):
            return Response(status_code=403)
        plant = request.method == "POST"
        present = await run_in_threadpool(foreign_entries, request.path_params["name"], plant)
        return Response(status_code=204 if present else 404)

    routes = [
        Route("/_test/reset", reset, methods=["POST"]),
        Route("/_test/damage/{model_id}", damage, methods=["POST"]),
        Route("/_test/foreign/{name}", foreign, methods=["GET", "POST"]),
    ]
    app = create_app(context, routes=routes)
    listener = bind("127.0.0.1", 0)
    print(f"ebonite serve: http://127.0.0.1:{listener.getsockname()[1]}", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, http="h11", log_level="warning", lifespan="off", server_header=False)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()
