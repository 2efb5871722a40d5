"""Native agents whose monitors run in a worker (monitor_in_worker), for the worker tests."""

import os
import subprocess
import threading
import time

from sample_agents import Marker

from hacore.agent import Agent, Param, Result, hookimpl


class Probe(Agent):
    """Its monitor reports what it sees, then does what ``mode`` says (to test the worker)."""

    name = "test-worker-probe"
    shortdesc = "A monitor that reports its process and misbehaves on demand (tests)"
    monitor_in_worker = True
    parameters = (Param("mode", "ok, dirty, thread, fd, hang, die, leave", default="ok"),
                  Param("tag", "text printed, and put in the command line of spawned sleeps",
                        default="-"))

    def monitor(self):
        with open("/proc/self/cgroup") as lines:
            cgroup = [line.strip() for line in lines if line.startswith("0::")]
        umask = os.umask(0o022)
        os.umask(umask)
        seen = (f"pid={os.getpid()} pgid={os.getpgid(0)} leak={os.environ.get('HACORE_TEST_LEAK')} "
                f"cwd={os.getcwd()} umask={umask:o} cgroup={cgroup[0] if cgroup else '-'}")
        print(f"out {self.params['tag']}")
        mode = self.params["mode"]
        if mode == "dirty":
            os.environ["HACORE_TEST_LEAK"] = "yes"
            os.chdir("/")
            os.umask(0o077)
        elif mode == "thread":
            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        elif mode == "fd":
            self.leaked = os.open(os.devnull, os.O_RDONLY)
        elif mode == "hang":
            subprocess.Popen(["setsid", "sleep", self.params["tag"]])
            time.sleep(300)
        elif mode == "die":
            os._exit(3)
        elif mode == "leave":
            subprocess.Popen(["sleep", self.params["tag"]], start_new_session=True)
        return Result.ok(seen)

    def start(self):
        return Result.ok()

    def stop(self):
        return Result.ok()


class WorkerMarker(Marker):
    """The executor tests' Marker, its monitors in a worker."""

    name = "test-worker-marker"
    monitor_in_worker = True


@hookimpl
def hacore_register_agents(register):
    register(Probe)
    register(WorkerMarker)
