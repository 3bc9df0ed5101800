# SPDX-License-Identifier: GPL-3.0-or-later
"""cf's per-session config: ``$CF_HOME/.cf/config.json`` (else ``$HOME/.cf/config.json``), cf-cli.md §2 key names."""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from typing import Any

from rehearsal import world as world_mod

DEFAULT_CONFIG: dict[str, Any] = {
    "ConfigVersion": 4,
    "Target": "",
    "APIVersion": "",
    "AuthorizationEndpoint": "",
    "DopplerEndPoint": "",
    "UaaEndpoint": "",
    "RoutingAPIEndpoint": "",
    "LogCacheEndPoint": "",
    "AccessToken": "",
    "SSHOAuthClient": "",
    "UAAOAuthClient": "cf",
    "UAAOAuthClientSecret": "",
    "UAAGrantType": "",
    "RefreshToken": "",
    "OrganizationFields": {"GUID": "", "Name": ""},
    "SpaceFields": {"GUID": "", "Name": "", "AllowSSH": False},
    "SSLDisabled": False,
    "AsyncTimeout": 0,
    "Trace": "",
    "ColorEnabled": "",
    "Locale": "",
    "PluginRepos": [{"Name": "CF-Community", "URL": "https://plugins.cloudfoundry.org"}],
    "MinCLIVersion": "",
    "MinRecommendedCLIVersion": "",
}


def cf_dir(env: Mapping[str, str]) -> str:
    base = env.get("CF_HOME") or env.get("HOME") or os.getcwd()
    return os.path.join(base, ".cf")


def config_path(env: Mapping[str, str]) -> str:
    return os.path.join(cf_dir(env), "config.json")


def load(env: Mapping[str, str]) -> dict[str, Any]:
    """The config, with defaults for missing keys (unknown keys are kept)."""
    cfg = copy.deepcopy(DEFAULT_CONFIG)
    try:
        with open(config_path(env), encoding="utf-8") as fh:
            stored = json.load(fh)
        if isinstance(stored, dict):
            cfg.update(stored)
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    return cfg


def save(env: Mapping[str, str], cfg: Mapping[str, Any]) -> None:
    """Rewrite config.json (mode 0600, directory 0700), as cf does when every command exits."""
    directory = cf_dir(env)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    world_mod.write_json_atomic(os.path.join(directory, "config.json"), dict(cfg), mode=0o600)


def set_target(cfg: dict[str, Any], world: Mapping[str, Any]) -> None:
    """What ``cf api`` stores: the endpoints, with tokens, org and space cleared."""
    api = world["api"]
    cfg.update({"Target": api["url"], "APIVersion": api["version"], "AuthorizationEndpoint": api["login_url"],
                "UaaEndpoint": api["uaa_url"], "DopplerEndPoint": api["doppler_url"],
                "LogCacheEndPoint": api["log_cache_url"], "RoutingAPIEndpoint": api["routing_url"],
                "SSLDisabled": False})
    clear_tokens(cfg)
    clear_org(cfg)


def clear_target(cfg: dict[str, Any]) -> None:
    for key in ("Target", "APIVersion", "AuthorizationEndpoint", "UaaEndpoint", "DopplerEndPoint", "LogCacheEndPoint",
                "RoutingAPIEndpoint"):
        cfg[key] = ""
    clear_tokens(cfg)
    clear_org(cfg)


def clear_tokens(cfg: dict[str, Any]) -> None:
    cfg["AccessToken"] = ""
    cfg["RefreshToken"] = ""
    cfg["SSHOAuthClient"] = ""
    cfg["UAAGrantType"] = ""


def set_tokens(cfg: dict[str, Any], access: str, refresh: str) -> None:
    cfg["AccessToken"] = "bearer " + access
    cfg["RefreshToken"] = refresh
    cfg["SSHOAuthClient"] = "ssh-proxy"


def set_org(cfg: dict[str, Any], guid: str, name: str) -> None:
    cfg["OrganizationFields"] = {"GUID": guid, "Name": name}
    clear_space(cfg)


def clear_org(cfg: dict[str, Any]) -> None:
    cfg["OrganizationFields"] = {"GUID": "", "Name": ""}
    clear_space(cfg)


def set_space(cfg: dict[str, Any], guid: str, name: str, allow_ssh: bool) -> None:
    cfg["SpaceFields"] = {"GUID": guid, "Name": name, "AllowSSH": allow_ssh}


def clear_space(cfg: dict[str, Any]) -> None:
    cfg["SpaceFields"] = {"GUID": "", "Name": "", "AllowSSH": False}


def issue_session(home: str | os.PathLike[str] | None, cf_home: str | os.PathLike[str], username: str, *,
                  org: str | None = None, space: str | None = None) -> str:
    """Log USERNAME in under CF_HOME without running cf (as ``cf api`` + ``cf auth``/``login`` + ``cf target`` would).

    For tests and for preparing an operator's SSO session. Returns the config.json path."""
    env = {"CF_HOME": os.fspath(cf_home)}
    cfg = load(env)
    with world_mod.transaction(home) as world:
        user = world_mod.require_user(world, username)
        set_target(cfg, world)
        access, refresh = world_mod.issue_tokens(world, user)
        set_tokens(cfg, access, refresh)
        if org is not None:
            org_obj = world_mod.find_org(world, org)
            if org_obj is None:
                raise world_mod.WorldError(f"no org {org!r}")
            set_org(cfg, org_obj["guid"], org_obj["name"])
            if space is not None:
                space_obj = world_mod.find_space(world, org_obj["guid"], space)
                if space_obj is None:
                    raise world_mod.WorldError(f"no space {space!r}")
                set_space(cfg, space_obj["guid"], space_obj["name"], True)
    save(env, cfg)
    return config_path(env)
