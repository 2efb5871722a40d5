"""rgmanager resource types -> hacore agents and parameter names (docs/configuration.md).

Each mapping says which agent a type becomes, how each attribute is renamed, which
attributes are dropped and why, and the status intervals rgmanager's meta-data gave it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

OCF_ROOT = os.environ.get("OCF_ROOT", "/usr/lib/ocf")


@dataclass(frozen=True)
class TypeMap:
    """How one rgmanager resource type is carried over."""

    agent: str
    rename: dict[str, str]
    dropped: dict[str, str] = field(default_factory=dict)
    #: rgmanager's status actions: (interval, depth)
    monitors: tuple[tuple[float, int], ...] = ((60.0, 0),)
    start_timeout: float | None = None
    stop_timeout: float | None = None
    #: parameters to add (e.g. fstype for netfs)
    fixed: dict[str, str] = field(default_factory=dict)
    #: pass attributes not listed in rename through unchanged
    passthrough: bool = False


_INHERIT = "hacore gives the agent the service name itself"
_NFS = "NFS lock recovery is not carried over; use ocf:heartbeat:nfsnotify"

TYPES: dict[str, TypeMap] = {
    "ip": TypeMap("ip", {"address": "address", "family": "family",
                         "monitor_link": "monitor_link", "sleeptime": "sleeptime",
                         "prefer_interface": "interface"},
                  {"disable_rdisc": "hacore does not touch routes or RDISC", "nfslock": _NFS},
                  monitors=((20.0, 0), (60.0, 10)), start_timeout=20, stop_timeout=20),
    "fs": TypeMap("fs", {"device": "device", "mountpoint": "mountpoint", "fstype": "fstype",
                         "options": "options", "force_unmount": "force_unmount",
                         "force_fsck": "force_fsck", "quick_status": "quick_status"},
                  {"self_fence": "a failed stop is fenced by hacore when fencing is configured",
                   "fsid": "NFS fsid is not carried over", "nfslock": _NFS,
                   "nfsrestart": _NFS, "use_findmnt": "hacore reads /proc/self/mountinfo"},
                  monitors=((60.0, 0), (30.0, 10), (60.0, 20)), start_timeout=900,
                  stop_timeout=30),
    "script": TypeMap("script", {"file": "file"}, {"service_name": _INHERIT},
                      monitors=((30.0, 0),)),
    "apache": TypeMap("apache", {"server_root": "server_root", "config_file": "config_file",
                                 "httpd": "httpd", "httpd_options": "httpd_options",
                                 "shutdown_wait": "shutdown_wait"},
                      {"service_name": _INHERIT}, monitors=((60.0, 0), (300.0, 10))),
    "mysql": TypeMap("mysql", {"config_file": "config_file", "listen_address": "listen_address",
                               "mysqld_options": "mysqld_options",
                               "startup_wait": "startup_wait",
                               "shutdown_wait": "shutdown_wait"},
                     {"service_name": _INHERIT}, monitors=((60.0, 0), (300.0, 10))),
    "clusterfs": TypeMap("ocf:heartbeat:Filesystem",
                         {"device": "device", "mountpoint": "directory", "fstype": "fstype",
                          "options": "options", "force_unmount": "force_unmount"},
                         {"self_fence": "fencing on failed stop is hacore's own rule",
                          "nfslock": _NFS, "fsid": "NFS fsid is not carried over"}),
    "netfs": TypeMap("ocf:heartbeat:Filesystem",
                     {"mountpoint": "directory", "fstype": "fstype", "options": "options",
                      "force_unmount": "force_unmount"},
                     {"host": "joined into device", "export": "joined into device"}),
    "lvm": TypeMap("ocf:heartbeat:LVM", {"vg_name": "volgrpname"},
                   {"lv_name": "ocf:heartbeat:LVM activates the whole volume group",
                    "self_fence": "fencing on failed stop is hacore's own rule"}),
    "nfsserver": TypeMap("ocf:heartbeat:nfsserver", {"nfspath": "nfs_shared_infodir"}),
    "named": TypeMap("ocf:heartbeat:named", {"config_file": "named_config",
                                             "named_options": "named_options"},
                     {"service_name": _INHERIT}),
    "postgres-8": TypeMap("ocf:heartbeat:pgsql", {"config_file": "config",
                                                  "postmaster_user": "pgdba",
                                                  "postmaster_options": "start_opt"},
                          {"service_name": _INHERIT, "shutdown_wait": "pgsql has its own"}),
    "tomcat-6": TypeMap("ocf:heartbeat:tomcat", {"catalina_home": "catalina_home",
                                                 "tomcat_user": "tomcat_user"},
                        {"service_name": _INHERIT}),
    "openldap": TypeMap("ocf:heartbeat:slapd", {"config_file": "config",
                                                "slapd_options": "parameters"},
                        {"service_name": _INHERIT, "url_list": "slapd listens per its config"}),
}

#: types with no hacore counterpart: the reason given when they are reported
UNSUPPORTED: dict[str, str] = {
    "vm": "virtual machines are not managed by hacore (use ocf:heartbeat:VirtualDomain by "
          "hand)",
    "nfsexport": "rgmanager's nfsexport/nfsclient pair has no direct counterpart; use "
                 "ocf:heartbeat:exportfs by hand",
    "nfsclient": "rgmanager's nfsexport/nfsclient pair has no direct counterpart; use "
                 "ocf:heartbeat:exportfs by hand",
    "smb": "use ocf:heartbeat:smb-share or an lsb: script by hand",
    "samba": "use ocf:heartbeat:smb-share or an lsb: script by hand",
}

#: rgmanager's primary attribute per type (what ref= points at); default "name"
PRIMARY = {"ip": "address", "lvm": "name", "nfsclient": "name"}


def ocf_script_exists(kind: str, provider: str = "heartbeat") -> bool:
    return os.access(Path(OCF_ROOT, "resource.d", provider, kind), os.X_OK)


def type_map(kind: str) -> TypeMap | None:
    """The mapping for an rgmanager type, or a pass-through OCF mapping, or None."""
    if kind in TYPES:
        return TYPES[kind]
    if kind in UNSUPPORTED:
        return None
    if ocf_script_exists(kind):
        return TypeMap(f"ocf:heartbeat:{kind}", {}, passthrough=True)
    return None
