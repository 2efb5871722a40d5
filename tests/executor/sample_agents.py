"""Native agents used by the executor tests (also loaded into the warm helper as a plugin)."""

import os
import subprocess
import time

from hacore.agent import OCF, Agent, AgentFailure, Param, Result, hookimpl


class Marker(Agent):
    """Its resource is a file; every call appends 'action begin/end' lines to a log."""

    name = "test-marker"
    shortdesc = "A file as a resource (tests)"
    parameters = (Param("path", "state file", required=True),
                  Param("log", "call log", default=""),
                  Param("hold", "seconds each call takes", type="integer", default=0))

    def _log(self, what):
        if self.params["log"]:
            with open(self.params["log"], "a") as log:
                log.write(f"{self.instance} {self.context.action} {what} {time.monotonic()}\n")

    def _call(self, body):
        self._log("begin")
        time.sleep(self.params["hold"] / 1000)
        result = body()
        self._log("end")
        return result

    def start(self):
        return self._call(lambda: open(self.params["path"], "w").close() or Result.ok())

    def stop(self):
        def body():
            if os.path.exists(self.params["path"]):
                os.unlink(self.params["path"])
            return Result.ok()
        return self._call(body)

    def monitor(self):
        return self._call(lambda: Result.ok() if os.path.exists(self.params["path"])
                          else Result.not_running("no state file"))


class Misbehaving(Agent):
    """start raises, monitor hangs with an escaped child, stop leaves a daemon, validate fails."""

    name = "test-misbehaving"
    shortdesc = "An agent that does everything wrong (tests)"
    parameters = (Param("tag", "marker put in the command line of spawned sleeps", required=True),)

    def start(self):
        raise ValueError("the disk is on fire")

    def monitor(self):
        subprocess.Popen(["setsid", "sleep", f"{self.params['tag']}"])
        time.sleep(300)
        return Result.ok()

    def stop(self):
        subprocess.Popen(["setsid", "sleep", f"{self.params['tag']}"], start_new_session=True)
        return Result.ok()

    def validate(self):
        raise AgentFailure(OCF.ERR_CONFIGURED, "tag must not be empty")


@hookimpl
def hacore_register_agents(register):
    register(Marker)
    register(Misbehaving)
