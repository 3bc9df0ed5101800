# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulated cf-service-connect plugin (cf-cli.md §3.14) through the real rehearsal/bin/cf: its steps and output,
the refusal while space SSH is disallowed, a real TCP forward, and the key it leaves behind when signalled."""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import threading
import time

from conftest import CF, Rehearsal

from rehearsal import world as world_mod
from rehearsal.commands import connect

SPACE, APP, SI = "ttahub-prod", "tta-smarthub-prod", "ttahub-prod"
LOG = r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} "


def keys(r: Rehearsal) -> list[str]:
    with r.world() as world:
        return [k["name"] for k in world["service_keys"].values()]


def echo_server() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:
        while True:
            try:
                conn = server.accept()[0]
            except OSError:
                return
            with conn:
                data = conn.recv(1024)
                conn.sendall(b"echo:" + data)

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def point_service_at(r: Rehearsal, port: int) -> None:
    with r.world() as world:
        si = next(s for s in world["service_instances"].values() if s["name"] == SI)
        world["network"]["hosts"][si["credentials"]["host"]] = f"127.0.0.1:{port}"


def test_wrong_number_of_arguments_is_the_plugins_log_line(ttahub: Rehearsal) -> None:
    result = ttahub.cf("connect-to-service", "-no-client", APP)
    assert result.returncode == 1 and result.stdout == ""
    assert re.fullmatch(LOG + "Wrong number of arguments\n", result.stderr)


def test_refused_while_space_ssh_is_disallowed_and_the_key_stays(ttahub: Rehearsal) -> None:
    connect.set_tunnel_delay(ttahub.home, 0.05)
    result = ttahub.cf("connect-to-service", "-no-client", APP, SI)
    assert result.returncode == 1
    assert result.stdout == "Finding the service instance details...\nSetting up SSH tunnel...\n"
    assert re.fullmatch("Error opening SSH connection: You are not authorized to perform the requested action.\n"
                        + LOG + "exit status 1\n", result.stderr)
    assert keys(ttahub) == ["SERVICE_CONNECT"], "log.Fatalln skips the deferred delete"


def test_forwards_to_the_database_and_leaves_its_key_when_signalled(ttahub: Rehearsal) -> None:
    server, port = echo_server()
    point_service_at(ttahub, port)
    connect.set_tunnel_delay(ttahub.home, 0.05)
    world_mod.set_space_ssh(ttahub.home, SPACE, True)
    world_mod.set_app_ssh(ttahub.home, SPACE, APP, True)
    with ttahub.world() as world:
        world["service_keys"]["old"] = {"guid": "old", "name": "SERVICE_CONNECT", "service_instance_guid": next(
            s["guid"] for s in world["service_instances"].values() if s["name"] == SI), "credentials": {}, "parameters": {},
            "created_at": 0.0, "updated_at": 0.0}
    proc = subprocess.Popen([str(CF), "connect-to-service", "-no-client", APP, SI], env=ttahub.env, text=True,  # pylint: disable=consider-using-with
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = [proc.stdout.readline() for _line in range(12)]
    block = "".join(lines)
    assert lines[:4] == ["Finding the service instance details...\n", "Setting up SSH tunnel...\n", "SSH tunnel created.\n",
                         "Skipping call to client CLI. Connection information:\n"]
    assert lines[-1] == "Leave this terminal open while you want to use the SSH tunnel. Press Control-C to stop.\n"
    local_port = int(re.search(r"^Port: (\d+)$", block, re.M).group(1))
    assert re.search(r"^Host: localhost$", block, re.M) and re.search(r"^Name: ttahub_prod$", block, re.M)
    with socket.create_connection(("127.0.0.1", local_port), timeout=5) as conn:
        conn.sendall(b"ping")
        assert conn.recv(1024) == b"echo:ping"
    assert keys(ttahub) == ["SERVICE_CONNECT"]
    with ttahub.world() as world:
        assert "old" not in world["service_keys"], "the old key was deleted first"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) != 0
    assert keys(ttahub) == ["SERVICE_CONNECT"], "no signal handler in the plugin: the key stays"
    server.close()


def test_a_tunnel_that_ends_by_itself_deletes_its_key(ttahub: Rehearsal) -> None:
    connect.set_tunnel_delay(ttahub.home, 0.05)
    world_mod.set_space_ssh(ttahub.home, SPACE, True)
    world_mod.set_app_ssh(ttahub.home, SPACE, APP, True)
    proc = subprocess.Popen([str(CF), "connect-to-service", "-no-client", APP, SI], env=ttahub.env, text=True,  # pylint: disable=consider-using-with
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while "Leave this terminal open" not in proc.stdout.readline():
        continue
    time.sleep(0.1)
    connect.end_tunnels(ttahub.home)
    assert proc.wait(10) == 0
    assert keys(ttahub) == []
