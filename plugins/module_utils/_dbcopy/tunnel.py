# Copyright (c) 2026, TTA Hub operations engineering
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The copy's tunnel as cf-service-connect makes it: ``cf connect-to-service -no-client APP SERVICE`` (cf-cli.md
§3.14) prints a connection block, then waits; what its failures mean; and the ``SERVICE_CONNECT`` key it leaves
behind, deleted and checked gone.

PRIVATE to the collection. It can have breaking changes at any time.
"""

from __future__ import annotations

import re

from ansible_collections.ttahub.ops.plugins.module_utils._cf.client import CfClient
from ansible_collections.ttahub.ops.plugins.module_utils._cf.failures import CfNotFoundError
from ansible_collections.ttahub.ops.plugins.module_utils._dbcopy.errors import CopyError

__all__ = ["CONNECT_BLOCK_END", "KEY_NAME", "delete_service_key", "tunnel_failure"]

KEY_NAME = "SERVICE_CONNECT"
CONNECT_BLOCK_END = "Leave this terminal open while you want to use the SSH tunnel. Press Control-C to stop."
GO_LOG_PREFIX = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ")


def _cf_stderr(text: str) -> str:
    return " ".join(GO_LOG_PREFIX.sub("", line).strip() for line in text.splitlines() if line.strip())


def tunnel_failure(stderr: str, app: str, service: str) -> CopyError:
    text = _cf_stderr(stderr)
    action = f"open the tunnel to {service} (cf connect-to-service -no-client {app} {service})"
    if "Error opening SSH connection" in text or "not authorized" in text:
        return CopyError(action, f"cf ssh was refused ({text})",
                         f"SSH must be allowed in the space (the window), enabled for the app ({app}: cf ssh-enabled {app}) and "
                         "you must be a Space Developer", kind="ssh_refused")
    if "is not a registered command" in text:
        return CopyError(action, "the cf-service-connect plugin is not installed",
                         "Install it: cf install-plugin https://github.com/cloud-gov/cf-service-connect/releases (see cloud.gov's database docs)",
                         kind="plugin_missing")
    if "Wrong number of arguments" in text:
        return CopyError(action, "the plugin rejected the arguments", "This collection needs cf-service-connect v1.1.x", kind="usage_error")
    return CopyError(action, text or "cf connect-to-service ended without its connection block",
                     "Check the app and the service names (cf_app, cf_db_service) and the plugin", kind="tunnel_failed")


def delete_service_key(cf: CfClient, service: str) -> None:
    """``cf delete-service-key -f SERVICE SERVICE_CONNECT`` (cloud.gov's explicit step, cf-cli.md §6), then check it is
    gone: ``cf service-key SERVICE SERVICE_CONNECT --guid`` must answer that there is no such key."""
    cf.run(["delete-service-key", "-f", service, KEY_NAME], action=f"delete the {KEY_NAME} key of {service}")
    try:
        cf.run(["service-key", service, KEY_NAME, "--guid"], action=f"check that the {KEY_NAME} key of {service} is gone")
    except CfNotFoundError:
        return
    raise CopyError(f"delete the {KEY_NAME} key of {service}", "the key still exists after cf delete-service-key",
                    f"Delete it by hand: cf delete-service-key -f {service} {KEY_NAME}", kind="key_left")
