"""The parameter schema and the OCF/LSB code tables."""

import pytest

from hacore.agent import OCF, Param
from hacore.agent.codes import lsb_action_to_ocf, lsb_status_to_ocf
from hacore.agent.params import ParamError, bind_params


def test_every_ocf_code_exists_with_both_spellings():
    """OCF codes 0-9, 190 and 191 exist, and the old MASTER names alias the PROMOTED ones."""
    assert [int(c) for c in (OCF.SUCCESS, OCF.NOT_RUNNING, OCF.DEGRADED, OCF.DEGRADED_PROMOTED)] == [0, 7, 190, 191]
    assert OCF.RUNNING_MASTER is OCF.RUNNING_PROMOTED and OCF.FAILED_MASTER is OCF.FAILED_PROMOTED
    assert OCF.from_exit(42) is OCF.ERR_GENERIC


def test_lsb_status_mapping():
    """LSB status 0 is running, 1/2/3 not running, 4 and others an error."""
    assert [lsb_status_to_ocf(s) for s in (0, 1, 2, 3, 4, 9)] == [
        OCF.SUCCESS, OCF.NOT_RUNNING, OCF.NOT_RUNNING, OCF.NOT_RUNNING, OCF.ERR_GENERIC, OCF.ERR_GENERIC]
    assert lsb_action_to_ocf(6) is OCF.ERR_CONFIGURED and lsb_action_to_ocf(99) is OCF.ERR_GENERIC


SCHEMA = (
    Param("address", "the address", required=True),
    Param("monitor_link", "watch the link", type="boolean", default=True),
    Param("sleeptime", "seconds", type="integer", default=0),
    Param("family", "family", type="select", options=("inet", "inet6"), default="inet"),
)


def test_bind_converts_types_and_fills_defaults():
    """Values are typed and defaults filled in."""
    values = bind_params(SCHEMA, {"address": "10.0.0.5/24", "monitor_link": "no", "sleeptime": "3"})
    assert values == {"address": "10.0.0.5/24", "monitor_link": False, "sleeptime": 3, "family": "inet"}


def test_bind_names_every_problem_at_once():
    """Unknown, missing and malformed parameters are all reported in one error."""
    with pytest.raises(ParamError) as err:
        bind_params(SCHEMA, {"adress": "x", "sleeptime": "soon", "family": "ipx"})
    text = str(err.value)
    assert "unknown parameter adress" in text and "valid: address" in text
    assert "'address' is missing" in text
    assert "sleeptime='soon' is not an integer" in text
    assert "not one of inet, inet6" in text


def test_schema_mistakes_are_refused_when_declared():
    """A select without options or a required parameter with a default is a schema error."""
    with pytest.raises(ParamError):
        Param("x", "x", type="select")
    with pytest.raises(ParamError):
        Param("x", "x", required=True, default="1")
    with pytest.raises(ParamError):
        Param("x", "x", type="float")
