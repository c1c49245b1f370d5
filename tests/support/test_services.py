"""Tests of the throwaway-server fixtures in tests/support/services.py themselves."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.support.services import S3Endpoint


@pytest.mark.postgres
def test_postgres_round_trip(postgres_url: str) -> None:
    """The session cluster accepts a SQLAlchemy connection and round-trips a query."""
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TEMP TABLE t (id int PRIMARY KEY, name text)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, :name)"), {"name": "ahoy"})
            assert conn.execute(sa.text("SELECT name FROM t WHERE id = 1")).scalar_one() == "ahoy"
            version = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
            fsync = conn.execute(sa.text("SHOW fsync")).scalar_one()
    finally:
        engine.dispose()
    assert int(version) >= 130000
    assert fsync == "off"


@pytest.mark.postgres
def test_postgres_db_url_gives_isolated_databases(postgres_url: str, postgres_db_url: str) -> None:
    """A table created through postgres_db_url is invisible from the session database."""
    fresh = sa.make_url(postgres_db_url)
    assert fresh.database is not None and fresh.database.startswith("test_")
    assert fresh.database != sa.make_url(postgres_url).database
    table = f"t_{uuid.uuid4().hex[:8]}"
    fresh_engine, shared_engine = sa.create_engine(fresh), sa.create_engine(postgres_url)
    try:
        with fresh_engine.begin() as conn:
            assert (
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = 'public'"
                    )
                ).scalar_one()
                == 0
            ), "a fresh database must start empty"
            conn.execute(sa.text(f"CREATE TABLE {table} (x int)"))
        assert sa.inspect(fresh_engine).has_table(table)
        assert not sa.inspect(shared_engine).has_table(table)
    finally:
        fresh_engine.dispose()
        shared_engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("run", [1, 2])
def test_postgres_db_url_is_fresh_per_test(postgres_db_url: str, run: int) -> None:
    """Each test gets a new, empty database: a table left by an earlier run is not there."""
    engine = sa.create_engine(postgres_db_url)
    try:
        assert not sa.inspect(engine).has_table("left_behind"), f"leaked into run {run}"
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE left_behind (x int)"))
    finally:
        engine.dispose()


@pytest.mark.s3
def test_s3_put_get_object(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    """An object written to the bucket through boto3 reads back byte for byte."""
    assert s3_endpoint.endpoint_url.startswith("http://127.0.0.1:")
    client = s3_endpoint.client()
    payload = bytes(range(256)) * 1024
    client.put_object(Bucket=s3_bucket, Key="dir/blob.bin", Body=payload)
    assert client.get_object(Bucket=s3_bucket, Key="dir/blob.bin")["Body"].read() == payload
    listed = client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [obj["Key"] for obj in listed] == ["dir/blob.bin"]


@pytest.mark.s3
def test_s3_bucket_is_fresh_and_unique(s3_endpoint: S3Endpoint, s3_bucket: str) -> None:
    """The per-test bucket exists and is empty."""
    client = s3_endpoint.client()
    assert s3_bucket in {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert client.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0


@pytest.mark.redis
def test_redis_set_get(redis_url: str) -> None:
    """The Redis server stores and returns a value and keeps nothing on disk."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"shipyard-test:{uuid.uuid4().hex}"
        assert client.set(key, b"\x00value", ex=60)
        assert client.get(key) == b"\x00value"
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        client.close()
