"""`hacore events`: the journal as a timeline, one line per event, grouped by incident."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from hacore.api.client import ApiClient, default_socket_path
from hacore.cli.render import handled
from hacore.errors import HacoreError, InputError
from hacore.journal import DEFAULT_DIR, Event, JournalFollower, event_from_dict, merge, read_journal
from hacore.journal.reader import event_filter

FOLLOW_POLL = 0.5


def _dirs(journals: tuple[str, ...], tried: str = "") -> list[Path]:
    dirs = [Path(j) for j in journals] or [Path(DEFAULT_DIR)]
    for d in dirs:
        if not d.is_dir():
            raise InputError(f"{tried}{d}: no journal directory there; give the journal of a "
                             f"node with --journal DIR (a node keeps it in {DEFAULT_DIR}) or a "
                             "running daemon's socket with --socket PATH")
    return dirs


def _clients(sockets: tuple[str, ...]) -> list[ApiClient]:
    """The daemons to ask: every --socket (each must answer), else the default socket if a
    daemon answers there; an empty list means: read journal directories."""
    paths = list(sockets) or [default_socket_path(None)]
    clients = []
    for path in paths:
        client = ApiClient(path, timeout=30.0)
        try:
            client.call("ping")
        except HacoreError:
            if sockets:
                raise
            return []
        clients.append(client)
    return clients


def _api_batch(clients: list[ApiClient], after: dict[str, dict[str, int]],
               params: dict[str, object], warned: set[str]) -> list[Event]:
    """The events after the seqs last seen, as one timeline. One daemon is asked for the
    whole cluster's journal (it asks the other members); several are each asked for their
    own. A member whose events are missing is named once on stderr."""
    streams = []
    for client in clients:
        seen = after.setdefault(client.path, {})
        if len(clients) == 1:
            reply = client.call("events", cluster=True, after=seen, **params)
        else:
            reply = client.call("events", after=seen.get("", 0), **params)
        got = [event_from_dict(raw) for raw in reply.get("events", [])]
        for e in got:
            key = e.node if len(clients) == 1 else ""
            seen[key] = max(seen.get(key, 0), e.seq)
        for node, how in sorted((reply.get("nodes") or {}).items()):
            if how != "ok" and node not in warned:
                warned.add(node)
                click.echo(f"note: events of {node} are missing: {how}", err=True)
        streams.append(got)
    return list(merge(streams))


def follow_api_events(clients: list[ApiClient], params: dict[str, object],
                      poll: float = FOLLOW_POLL) -> Iterator[list[Event]]:
    """Like ``follow_events``, through the daemons' API (the cluster's journal)."""
    after: dict[str, dict[str, int]] = {}
    warned: set[str] = set()
    while True:
        yield _api_batch(clients, after, params, warned)
        time.sleep(poll)


# The reading lives behind these two functions so that the daemon's API can serve them later.
def load_events(journals: list[Path]) -> Iterator[Event]:
    """Every event recorded so far in the given journals, as one timeline."""
    return merge(read_journal(d) for d in journals)


def follow_events(journals: list[Path], poll: float = FOLLOW_POLL) -> Iterator[list[Event]]:
    """Batches of events: first every event recorded so far, then each poll's new ones (no
    event is missed or repeated between the two); runs until interrupted."""
    follower = JournalFollower(journals, from_end=False)
    while True:
        yield follower.poll()
        time.sleep(poll)


def _emit(event: Event, as_json: bool, width: int) -> None:
    from hacore.journal.render import format_event

    if as_json:
        click.echo(json.dumps(event.to_dict(), separators=(",", ":"), default=str))
    else:
        click.echo(format_event(event, node_width=width))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--journal", "journals", multiple=True, type=click.Path(file_okay=False),
              help=f"A node's journal directory (repeat for several nodes; default "
                   f"{DEFAULT_DIR}).")
@click.option("--socket", "sockets", multiple=True, type=click.Path(dir_okay=False),
              help="A daemon's control socket (repeat for several nodes; default "
                   "$HACORE_SOCKET or /run/hacore/hacore.sock). Used when a daemon answers "
                   "there; otherwise the journal directories are read.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing events as they happen.")
@click.option("--since", help="Only events from then on: 10m, 2h, 1d, an ISO time, epoch s.")
@click.option("--incident", help="Only the events of this incident, as a timeline.")
@click.option("--service", help="Only the events about this service.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per line: seq, time, node, kind, service, incident, "
                   "message, fields.")
@handled
def events(journals: tuple[str, ...], sockets: tuple[str, ...], follow: bool,
           since: str | None, incident: str | None, service: str | None,
           as_json: bool) -> None:
    """Show what happened: membership changes, decisions with their reasons, operations,
    fencing, quorum and administrator commands, one line per event, oldest first.

    Through a daemon's socket the timeline is the whole cluster's: the daemon asks every
    reachable member for its journal (a member it cannot reach is named on stderr). With
    --journal, the given directories are read.

    A fault (a node lost, a service failed) opens an incident; the events of the recovery
    carry its id, and --incident ID prints that story from detection to recovery.

    \b
    Example: hacore events --since 1h
    Example: hacore events --socket /run/hacore/hacore.sock --follow
    Example: hacore events --journal /srv/n1/journal --journal /srv/n2/journal \\
                 --incident 20261127-081512-n1-1
    """
    from hacore.journal.render import format_events, incident_timeline, parse_since

    since_t = parse_since(since, time.time()) if since else None
    keep = event_filter(since=since_t, incident=incident, service=service)
    clients = [] if journals else _clients(sockets)
    params = {k: v for k, v in (("since", since_t), ("incident", incident),
                                ("service", service)) if v is not None}
    if clients:
        batches = follow_api_events(clients, params)
    else:
        tried = "" if journals else f"no daemon answers at {default_socket_path(None)}; "
        dirs = _dirs(journals, tried)
        batches = follow_events(dirs)
    if follow:
        _follow(batches, keep, as_json)
        return
    history = [e for e in (next(batches) if clients else load_events(dirs)) if keep(e)]
    if as_json:
        for e in history:
            _emit(e, True, 0)
    elif incident:
        for line in incident_timeline(history, incident):
            click.echo(line)
        if not history:
            raise SystemExit(1)
    else:
        for line in format_events(history):
            click.echo(line)


def _follow(batches: Iterator[list[Event]], keep: Callable[[Event], bool],
            as_json: bool) -> None:
    width = 0
    try:
        for batch in batches:
            chosen = [e for e in batch if keep(e)]
            width = max([width, *(len(e.node) for e in chosen)])
            for event in chosen:
                _emit(event, as_json, width)
    except KeyboardInterrupt:
        return
