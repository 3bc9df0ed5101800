# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulated cf commands. Importing this package registers them all in ``base.COMMANDS``."""
from __future__ import annotations

from rehearsal.commands import apps, cfssh, connect, curl, push, services, session, ssh, tasks  # noqa: F401  (registration)
from rehearsal.commands.base import ALIASES, COMMANDS, resolve

# Real cf v8 commands (command/common/command_list_v7.go) that the rehearsal cloud does not emulate (yet): cf answers
# them with an explicit "not emulated" error instead of "not a registered command".
REAL_COMMANDS = frozenset("""
add-network-policy add-plugin-repo apply-manifest bind-route-service bind-running-security-group bind-security-group
bind-service bind-staging-security-group buildpacks check-route config continue-deployment
copy-source create-app create-app-manifest create-buildpack create-isolation-segment create-org create-org-quota
create-package create-private-domain create-route create-security-group create-service create-service-broker
create-shared-domain create-space create-space-quota create-user create-user-provided-service delete
delete-buildpack delete-isolation-segment delete-org delete-org-quota delete-orphaned-routes delete-private-domain
delete-route delete-security-group delete-service delete-service-broker delete-shared-domain delete-space
delete-space-quota delete-user disable-feature-flag disable-org-isolation disable-service-access domains droplets
enable-feature-flag enable-org-isolation enable-service-access env events feature-flag feature-flags
get-health-check install-plugin isolation-segments labels list-plugin-repos map-route marketplace network-policies
oauth-token org org-quota org-quotas org-users orgs packages passwd plugins purge-service-instance
purge-service-offering remove-network-policy remove-plugin-repo rename rename-buildpack rename-org
rename-service rename-service-broker rename-space repo-plugins reset-org-default-isolation-segment
reset-space-isolation-segment restage restart restart-app-instance revisions rollback router-groups routes
running-environment-variable-group running-security-groups scale security-group security-groups service-access
service-brokers services set-droplet set-env set-health-check set-label set-org-default-isolation-segment
set-org-quota set-org-role set-running-environment-variable-group set-space-isolation-segment set-space-quota
set-space-role set-staging-environment-variable-group share-private-domain share-service space-quota space-quotas
space-users spaces stack stacks stage staging-environment-variable-group staging-security-groups start stop
unbind-route-service unbind-running-security-group unbind-security-group unbind-service unbind-staging-security-group
uninstall-plugin unmap-route unset-env unset-label unset-org-role unset-space-quota unset-space-role
unshare-private-domain unshare-service update-buildpack update-org-quota update-security-group update-service
update-service-broker update-space-quota update-user-provided-service
""".split())

__all__ = ["ALIASES", "COMMANDS", "REAL_COMMANDS", "resolve"]
