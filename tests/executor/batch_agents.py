"""The worker tests' probe agent without monitor_in_worker: its monitors run in batches."""

from worker_agents import Probe

from hacore.agent import hookimpl


class BatchProbe(Probe):
    """Reports what its monitor sees, misbehaves on demand; forked (alone or in a batch)."""

    name = "test-batch-probe"
    monitor_in_worker = False


@hookimpl
def hacore_register_agents(register):
    register(BatchProbe)
