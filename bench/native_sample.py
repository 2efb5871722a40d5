"""A native agent for the executor benchmark: its monitor reads a state file, nothing more."""

import os

from hacore.agent import Agent, Param, Result, hookimpl


class StateFile(Agent):
    name = "bench-statefile"
    shortdesc = "A resource that is a state file (benchmark only)"
    parameters = (Param("state", "State file", required=True),)

    def start(self) -> Result:
        open(self.params["state"], "w").close()
        return Result.ok()

    def stop(self) -> Result:
        if os.path.exists(self.params["state"]):
            os.unlink(self.params["state"])
        return Result.ok()

    def monitor(self) -> Result:
        return Result.ok() if os.path.exists(self.params["state"]) else Result.not_running()


@hookimpl
def hacore_register_agents(register):
    register(StateFile)
