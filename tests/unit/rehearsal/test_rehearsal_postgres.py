# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rehearsal PostgreSQL: a real PostgreSQL 15 server, its world wiring, the TTA Hub-shaped seed."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rehearsal import postgres
from rehearsal import seed as world_seed
from rehearsal import world as world_mod

REPO = Path(__file__).resolve().parents[3]
MARKER = "REHEARSAL-PROD-MARKER-testmarker0001"


@pytest.fixture(scope="module")
def pg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One seeded world and server for the read-only tests of this module (the server is stopped afterwards)."""
    home = tmp_path_factory.mktemp("pg") / "rehearsal"
    world_seed.seed(home)
    try:
        postgres.start(home)
        postgres.seed(home, marker=MARKER)
        yield home
    finally:
        postgres.destroy(home)


def _sql(conn: dict[str, Any], sql: str) -> list[str]:
    return postgres.query(conn, sql)


def test_start_returns_a_password_login_to_ttahub_prod(pg_home: Path) -> None:
    conn = postgres.start(pg_home)
    assert set(conn) == {"host", "port", "dbname", "user", "password"}
    assert conn["host"] == "127.0.0.1" and conn["dbname"] == "ttahub_prod"
    world = world_mod.load(pg_home)
    creds = next(si["credentials"] for si in world["service_instances"].values() if si["name"] == "ttahub-prod")
    # the role and password are the service instance's, as the aws-rds broker hands them out
    assert (conn["user"], conn["password"]) == (creds["username"], creds["password"])
    assert _sql(conn, "SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user") \
        == [f"{conn['user']}|ttahub_prod|f"]
    # the app role owns its tables, so pg_dump with the service's credentials works
    owners = set(_sql(conn, "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'"))
    assert owners == {conn["user"]}


def test_start_is_idempotent(pg_home: Path) -> None:
    before = postgres.status(pg_home)
    assert postgres.start(pg_home) == postgres.start(pg_home)
    after = postgres.status(pg_home)
    assert before["running"] and after["pid"] == before["pid"] and after["port"] == before["port"]


def test_world_credentials_point_at_the_server(pg_home: Path) -> None:
    world = world_mod.load(pg_home)
    port = postgres.status(pg_home)["port"]
    services = [si for si in world["service_instances"].values() if si["offering"] == "aws-rds"]
    assert {si["name"] for si in services} == {"ttahub-prod", "ttahub-staging", "ttahub-dev", "ttahub-sandbox"}
    for si in services:
        creds = si["credentials"]
        assert creds["port"] == str(port)
        assert creds["host"].endswith(".db.rehearsal.cloud.gov.invalid")
        assert world["network"]["hosts"][creds["host"]] == "127.0.0.1"
        assert creds["uri"] == (f"postgres://{creds['username']}:{creds['password']}@{creds['host']}:{port}/"
                                f"{creds['db_name']}")
        conn = postgres.connection(pg_home, si["name"])
        assert _sql(conn, "SELECT current_database()") == [creds["db_name"]]


def test_each_role_reaches_only_its_own_database(pg_home: Path) -> None:
    prod = postgres.connection(pg_home, "ttahub-prod")
    dev = postgres.connection(pg_home, "ttahub-dev")
    with pytest.raises(postgres.PostgresError, match="permission denied for database \"ttahub_prod\""):
        _sql({**dev, "dbname": prod["dbname"]}, "SELECT 1")


def test_logins_need_the_right_password(pg_home: Path) -> None:
    conn = postgres.connection(pg_home)
    with pytest.raises(postgres.PostgresError, match="password authentication failed"):
        _sql({**conn, "password": "wrong"}, "SELECT 1")
    with pytest.raises(postgres.PostgresError, match="password authentication failed"):
        _sql({**conn, "user": "postgres", "dbname": "postgres", "password": "wrong"}, "SELECT 1")
    # the server keeps only SCRAM verifiers
    state = json.loads((pg_home / "postgres.json").read_text(encoding="utf-8"))
    admin = {**conn, "user": "postgres", "dbname": "postgres", "password": state["superuser_password"]}
    stored = _sql(admin, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{conn['user']}'")
    assert stored[0].startswith("SCRAM-SHA-256$4096:") and conn["password"] not in stored[0]


def test_listens_on_loopback_tcp_only(pg_home: Path) -> None:
    info = postgres.status(pg_home)
    state = json.loads((pg_home / "postgres.json").read_text(encoding="utf-8"))
    admin = {"host": "127.0.0.1", "port": info["port"], "dbname": "postgres", "user": "postgres",
             "password": state["superuser_password"]}
    assert _sql(admin, "SHOW listen_addresses; SHOW unix_socket_directories; SHOW fsync") == ["127.0.0.1", "off"]
    with socket.create_connection(("127.0.0.1", info["port"]), timeout=2):
        pass
    assert not list(Path(info["data_dir"]).parent.rglob(".s.PGSQL.*"))
    assert (pg_home / "postgres.json").stat().st_mode & 0o777 == 0o600


def test_seed_makes_ttahub_shaped_tables_with_the_documented_row_counts(pg_home: Path) -> None:
    conn = postgres.connection(pg_home)
    counts = postgres.counts(conn)
    assert {t: info["count"] for t, info in counts["tables"].items()} == postgres.ROWS
    for info in counts["tables"].values():
        assert info["updated_at"] < "2026-10-01" and info["updated_at"].endswith("Z")
    grants = counts["grants_counts"]
    assert {r["status"] for r in grants} == {"Active", "Inactive"}
    assert {r["regionId"] for r in grants} <= set(range(1, 13)) and len({r["regionId"] for r in grants}) > 6
    assert sum(int(r["count"]) for r in grants) == postgres.ROWS["Grants"]
    assert all(isinstance(r["count"], str) for r in grants)  # bigint through Sequelize: a string
    reports = counts["activity_reports_counts"]
    assert {r["submissionStatus"] for r in reports} == set(postgres.SUBMISSION_STATUSES)
    assert sum(int(r["count"]) for r in reports) == postgres.ROWS["ActivityReports"]
    assert reports == sorted(reports, key=lambda r: (r["regionId"], r["submissionStatus"]))
    columns = _sql(conn, "SELECT table_name || '.' || column_name FROM information_schema.columns "
                         "WHERE table_schema = 'public'")
    for column in ("Grants.regionId", "Grants.status", "ActivityReports.regionId", "ActivityReports.submissionStatus",
                   "Users.updatedAt", "Files.updatedAt", "NextSteps.activityReportId", "Objectives.goalId"):
        assert column in columns


def test_marker_is_in_prod_only_and_reaches_the_disk_in_plaintext(pg_home: Path) -> None:
    prod = postgres.connection(pg_home)
    assert _sql(prod, 'SELECT "additionalNotes" FROM "ActivityReports" WHERE id = 1') == [MARKER]
    assert _sql(prod, 'SELECT name FROM "Users" WHERE id = 1') == [MARKER]
    staging = postgres.connection(pg_home, "ttahub-staging")
    other = _sql(staging, 'SELECT "additionalNotes" FROM "ActivityReports" WHERE id = 1')[0]
    assert other.startswith("REHEARSAL-STAGING-MARKER-") and other != MARKER
    state = json.loads((pg_home / "postgres.json").read_text(encoding="utf-8"))
    _sql({**prod, "user": "postgres", "password": state["superuser_password"]}, "CHECKPOINT")
    needle = MARKER.encode()
    hits = [p for p in (pg_home / "postgres" / "data" / "base").rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert hits, "the marker should be greppable in the cluster's files"


def test_seed_is_deterministic_and_scales(tmp_path: Path) -> None:
    home = tmp_path / "rehearsal"
    world_seed.seed(home)
    digest_sql = " UNION ALL ".join(
        f"SELECT '{t}', md5(string_agg(x::text, ',' ORDER BY x.id)) FROM \"{t}\" x" for t in postgres.TABLES)
    try:
        first = postgres.seed(home, marker=MARKER)
        conn = postgres.connection(home)
        digests = _sql(conn, digest_sql)
        postgres.seed(home, marker=MARKER, services=["ttahub-prod"])
        assert _sql(conn, digest_sql) == digests
        result = postgres.seed(home, scale=3, marker=MARKER, services=["ttahub-prod"])
        assert set(result["counts"]) == {"ttahub-prod"}
        assert result["counts"]["ttahub-prod"] == {t: 3 * n for t, n in postgres.ROWS.items()}
        assert {t: i["count"] for t, i in postgres.counts(conn)["tables"].items()} == result["counts"]["ttahub-prod"]
        assert first["marker"] == MARKER and set(first["markers"]) == {"ttahub-prod", "ttahub-staging", "ttahub-dev",
                                                                       "ttahub-sandbox"}
        with pytest.raises(postgres.PostgresError, match="scale must be a whole number"):
            postgres.seed(home, scale=0)
        with pytest.raises(postgres.PostgresError, match="no aws-rds service instance ttahub-nope"):
            postgres.seed(home, services=["ttahub-nope"])
    finally:
        postgres.destroy(home)


def test_stop_start_keeps_data_and_a_reseeded_world_gets_new_logins(tmp_path: Path) -> None:
    home = tmp_path / "rehearsal"
    world_seed.seed(home)
    try:
        postgres.seed(home, marker=MARKER, services=["ttahub-prod"])
        old = postgres.connection(home)
        assert postgres.stop(home) is True
        assert postgres.stop(home) is False
        assert postgres.status(home)["running"] is False
        with pytest.raises(postgres.PostgresError, match="Failed to query"):
            _sql(old, "SELECT 1")
        world_seed.seed(home)  # new credentials (and port 5432) in the world
        new = postgres.start(home)
        assert new["user"] != old["user"] and new["password"] != old["password"]
        assert _sql(new, 'SELECT count(*) FROM "Users"') == [str(postgres.ROWS["Users"])]
        with pytest.raises(postgres.PostgresError, match="authentication failed"):
            _sql({**old, "port": new["port"]}, "SELECT 1")
    finally:
        postgres.destroy(home)


def test_connection_before_start_and_unknown_service_fail_clearly(tmp_path: Path) -> None:
    home = tmp_path / "rehearsal"
    world_seed.seed(home)
    with pytest.raises(postgres.PostgresError, match=r"^Failed to connect .*never started.*postgres start\.$"):
        postgres.connection(home)
    assert postgres.status(home)["running"] is False
    assert postgres.stop(home) is False


def test_scram_verifier_matches_postgres_format() -> None:
    verifier = postgres.scram_verifier("pencil", salt=b"0123456789abcdef")
    head, keys = verifier.split("$", 1)[1].split("$")
    assert head == "4096:MDEyMzQ1Njc4OWFiY2RlZg=="
    assert len(keys.split(":")) == 2 and "pencil" not in verifier


def test_cli_prints_no_password(pg_home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "rehearsal", "postgres", "start", "--home", str(pg_home)],
                         capture_output=True, text=True, check=True, env=env, cwd=REPO).stdout
    conn = postgres.connection(pg_home)
    assert json.loads(out.splitlines()[0])["port"] == conn["port"]
    assert conn["password"] not in out
    status = subprocess.run([sys.executable, "-m", "rehearsal", "postgres", "status", "--home", str(pg_home)],
                            capture_output=True, text=True, check=False, env=env, cwd=REPO)
    assert status.returncode == 0 and json.loads(status.stdout)["running"] is True


def test_survives_a_parent_losing_its_search_bit(tmp_path: Path) -> None:
    """pytest resets /tmp/pytest-of-<user> to 0700 whenever a session starts: status, stop and start still work."""
    home = tmp_path / "deep" / "rehearsal"
    world_seed.seed(home)
    try:
        conn = postgres.start(home)
        os.chmod(tmp_path / "deep", 0o700)
        assert postgres.status(home)["running"] is True
        assert _sql(conn, "SELECT 1") == ["1"]  # the running server works from its data directory
        assert postgres.stop(home) is True
        os.chmod(tmp_path / "deep", 0o700)
        assert postgres.start(home)["port"] == conn["port"]
        assert postgres.status(home)["running"] is True
    finally:
        postgres.destroy(home)
    assert postgres.status(home)["running"] is False


def test_a_cluster_whose_home_was_deleted_is_stopped_and_removed_by_the_next_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone, other = tmp_path / "gone", tmp_path / "other"
    world_seed.seed(gone)
    world_seed.seed(other)
    postgres.start(gone)
    cluster = os.path.realpath(gone / "postgres")
    pid = postgres.status(gone)["pid"]
    import shutil  # pylint: disable=import-outside-toplevel

    shutil.rmtree(gone)  # as `rm -rf $REHEARSAL_HOME` without a stop
    monkeypatch.setattr(postgres, "ORPHAN_AGE_S", 0)
    try:
        postgres.start(other)
        if os.geteuid() == 0:
            assert not os.path.exists(cluster)
            assert not Path(f"/proc/{pid}").exists() or b"Z" in Path(f"/proc/{pid}/stat").read_bytes().split(b")")[-1][:3]
    finally:
        postgres.destroy(other)
        if os.geteuid() != 0:
            os.kill(pid, 2)


def test_destroy_removes_the_cluster(tmp_path: Path) -> None:
    home = tmp_path / "rehearsal"
    world_seed.seed(home)
    postgres.start(home)
    cluster = os.path.realpath(home / "postgres")
    assert os.path.exists(os.path.join(cluster, "data", "PG_VERSION"))
    assert postgres.destroy(home) is True
    assert not os.path.exists(cluster) and not (home / "postgres").exists() and not (home / "postgres.json").exists()
    assert postgres.status(home)["running"] is False
    assert postgres.destroy(home) is False
