"""The journal's event drafts (hacore.journal.compose) say what happened in one line."""

from hacore.journal import compose


def test_quorum_lost_says_why_when_the_votes_are_there():
    """A quorum-lost event whose votes would suffice says why (no lease yet), so '2 votes,
    2 needed: NOT quorate' never reads as a contradiction."""
    draft = compose.quorum_changed(quorate=False, votes=2, needed=2,
                                   reason="no coordinator holds a lease yet (election)")
    assert draft["message"].endswith("NOT quorate: nothing starts or moves "
                                     "(no coordinator holds a lease yet (election))")
    assert draft["fields"]["reason"].startswith("no coordinator")
    gained = compose.quorum_changed(quorate=True, votes=3, needed=2, reason="ignored")
    assert "reason" not in gained["fields"] and "ignored" not in gained["message"]
