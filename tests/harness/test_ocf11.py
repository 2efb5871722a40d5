"""The OCF 1.1 meta-data check: errors for what 1.1 forbids, warnings for old-DTD-only forms."""

from __future__ import annotations

from hacore.harness.ocf11 import check_ocf11

GOOD_PARAM = ('<parameter name="p"><longdesc lang="en">l</longdesc><shortdesc lang="en">s</shortdesc>'
              '<content type="string"/></parameter>')
GOOD_ACTIONS = ('<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>'
                '<action name="monitor" timeout="20s" interval="10s"/><action name="meta-data" timeout="5s"/>')


def meta(params: str = GOOD_PARAM, actions: str = GOOD_ACTIONS, head: str = "<version>1.1</version>",
         desc: str = '<shortdesc lang="en">x</shortdesc>') -> str:
    return (f'<resource-agent name="t">{head}{desc}<parameters>{params}</parameters>'
            f"<actions>{actions}</actions></resource-agent>")


def test_clean_ocf11_metadata_has_no_findings():
    """Well-formed OCF 1.1 meta-data yields no error and no warning."""
    found = check_ocf11(meta())
    assert (found.errors, found.warnings) == ([], [])


def test_old_dtd_forms_are_warnings():
    """A missing <version> and content type 'time' only warn."""
    found = check_ocf11(meta(params=GOOD_PARAM.replace('"string"', '"time"'), head=""))
    assert found.errors == []
    assert any("no <version>" in w for w in found.warnings)
    assert any("'time' exists only in the old DTD" in w for w in found.warnings)


def test_what_ocf11_forbids_is_an_error():
    """Missing lang, unknown content type, a select without options, no stop timeout are errors."""
    params = (GOOD_PARAM.replace(' lang="en">l', ">l")
              + GOOD_PARAM.replace('"p"', '"q"').replace('"string"', '"float"')
              + GOOD_PARAM.replace('"p"', '"r"').replace('"string"', '"select"'))
    found = check_ocf11(meta(params=params, actions=GOOD_ACTIONS.replace(' name="stop" timeout="20s"', ' name="stop"')))
    text = "\n".join(found.errors)
    assert "<longdesc> of parameter 'p' has no lang" in text
    assert "content type 'float'" in text
    assert "parameter 'r': a select has no <option" in text
    assert "action 'stop' has no timeout" in text


def test_missing_mandatory_action_and_name():
    """No name attribute and no monitor action are errors."""
    xml = meta(actions=GOOD_ACTIONS.replace("monitor", "status")).replace(' name="t"', "", 1)
    errors = "\n".join(check_ocf11(xml).errors)
    assert "no name attribute" in errors
    assert '<action name="monitor"' in errors


def test_unreadable_xml_is_one_error():
    """Text that is not XML is reported, not raised."""
    assert check_ocf11("<resource-agent").errors[0].startswith("not readable XML")
