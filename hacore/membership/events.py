"""What changed between two views, as contract events (in the order a reader needs them)."""

from __future__ import annotations

from hacore.membership.contract import MembershipEvent, MembershipView


def view_events(old: MembershipView | None, new: MembershipView) -> list[MembershipEvent]:
    """Events turning ``old`` into ``new``: quorum lost first (the daemon stops services on
    it), then the view change, then quorum gained, then links."""
    events: list[MembershipEvent] = []
    if old is None:
        return [MembershipEvent("view", new, joined=new.member_names())]
    if old.quorate and not new.quorate:
        events.append(MembershipEvent("quorum-lost", new, detail=_figures(new)))
    before = {(m.name, m.incarnation) for m in old.members}
    after = {(m.name, m.incarnation) for m in new.members}
    joined = tuple(sorted(n for n, _ in after - before))
    left = tuple(sorted(n for n, _ in before - after))
    if joined or left or old.epoch != new.epoch or old.coordinator != new.coordinator:
        detail = f"epoch {new.epoch}, coordinator {new.coordinator or 'none'}"
        events.append(MembershipEvent("view", new, detail=detail, joined=joined, left=left))
    elif new.agreed and not old.agreed and new.quorate:
        events.append(MembershipEvent("view", new, detail=f"epoch {new.epoch} agreed by "
                                      f"every member, coordinator {new.coordinator}"))
    if new.quorate and not old.quorate:
        events.append(MembershipEvent("quorum-gained", new, detail=_figures(new)))
    for name, address in sorted(set(new.links_down) - set(old.links_down)):
        events.append(MembershipEvent("link-down", new, name, f"link {address} to {name} down"))
    members = set(new.member_names())
    for name, address in sorted(set(old.links_down) - set(new.links_down)):
        if name not in members:
            continue
        events.append(MembershipEvent("link-up", new, name, f"link {address} to {name} up"))
    return events


def _figures(view: MembershipView) -> str:
    q = view.quorum
    figures = f"{q.total} of {q.expected} votes, {q.quorum} needed"
    return f"{figures}: {q.reason}" if q.reason and not q.quorate else figures
