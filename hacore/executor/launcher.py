"""The compiled script launcher (launcher.c): a script born in its cgroup with no Python between.

A Python-level fork of the warm helper costs milliseconds on a small VM (copying its page
tables, the child's copy-on-write faults, tearing its memory down at exec). The launcher
does what posix_spawn() does, at vfork speed, plus clone3(CLONE_INTO_CGROUP), which glibc
2.36 (Debian 12) does not offer.

It is compiled once at install time (``python -m hacore.executor.launcher build``, run by
install.sh; needs gcc and libc6-dev) into ``_launcher.so`` beside this module. When it is
absent, or cannot be loaded, the executor logs it once and starts scripts through Python
(posix_spawn without a cgroup, fork + exec with one): slower, just as safe.
``HACORE_EXECUTOR_LAUNCHER=0`` switches it off; ``HACORE_EXECUTOR_LAUNCHER=/path.so`` loads
another build.
"""

from __future__ import annotations

import ctypes
import logging
import os
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("hacore.executor")

SOURCE = Path(__file__).with_name("launcher.c")
LIBRARY = Path(__file__).with_name("_launcher.so")
COMPILE = ["-O2", "-shared", "-fPIC", "-Wall", "-Werror"]

_unset = object()
_loaded: object = _unset


class Launcher:
    """The loaded library: ``spawn`` starts one script."""

    def __init__(self, path: Path) -> None:
        self.path = path
        library = ctypes.CDLL(str(path), use_errno=False)
        launch = library.hacore_launch
        launch.restype = ctypes.c_long
        launch.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p),
                           ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                           ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        self._launch = launch

    def spawn(self, argv: list[str], env: dict[str, str], cgroup_fd: int, out_fd: int,
              err_fd: int, fail_missing: int, fail_other: int) -> tuple[int, int]:
        """Start ``argv`` with exactly ``env``; returns (pid, errno of a failed execve or 0).

        ``cgroup_fd``: an open directory of the cgroup to be born in, or -1. When execve
        fails the child has already ended with ``fail_missing`` (no such file) or
        ``fail_other``. Raises OSError when no child could be made at all.
        """
        args = [os.fsencode(a) for a in argv]
        envs = [os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()]
        c_argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
        c_env = (ctypes.c_char_p * (len(envs) + 1))(*envs, None)
        exec_errno = ctypes.c_int(0)
        pid = self._launch(args[0], c_argv, c_env, cgroup_fd, out_fd, err_fd,
                           fail_missing, fail_other, ctypes.byref(exec_errno))
        if pid < 0:
            raise OSError(-pid, os.strerror(-pid))
        return int(pid), exec_errno.value


def load() -> Launcher | None:
    """The launcher, loaded once per process; None (logged once) when it is not available."""
    global _loaded
    if _loaded is _unset:
        _loaded = _load()
    return _loaded  # type: ignore[return-value]


def reset() -> None:
    """Forget what ``load`` found (tests switch the launcher on and off)."""
    global _loaded
    _loaded = _unset


def _load() -> Launcher | None:
    setting = os.environ.get("HACORE_EXECUTOR_LAUNCHER", "")
    if setting == "0":
        log.info("executor: compiled launcher switched off (HACORE_EXECUTOR_LAUNCHER=0); "
                 "scripts start through the Python path")
        return None
    path = Path(setting) if setting else LIBRARY
    if not path.exists():
        log.warning("executor: compiled launcher %s not found (build it with `%s -m "
                    "hacore.executor.launcher build`); scripts start through the slower "
                    "Python path", path, sys.executable)
        return None
    try:
        return Launcher(path)
    except (OSError, AttributeError) as exc:
        log.warning("executor: compiled launcher %s cannot be loaded (%s); scripts start "
                    "through the slower Python path", path, exc)
        return None


def build(output: Path = LIBRARY, compiler: str | None = None) -> Path:
    """Compile launcher.c into ``output`` (atomically); raises RuntimeError naming the cause."""
    cc = compiler or os.environ.get("CC", "cc")
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    command = [cc, *COMPILE, "-o", str(temporary), str(SOURCE)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except OSError as exc:
        raise RuntimeError(f"cannot run the C compiler {cc!r} ({exc.strerror}); "
                           "install gcc and libc6-dev") from exc
    if done.returncode != 0:
        temporary.unlink(missing_ok=True)
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr.strip()}")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, output)
    return output


def main(argv: list[str] | None = None) -> int:
    """``python -m hacore.executor.launcher build [OUTPUT]``: compile; ``check``: load it."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("build", "check") or len(args) > 2:
        print("usage: python -m hacore.executor.launcher build [OUTPUT.so] | check", file=sys.stderr)
        return 2
    if args[0] == "build":
        try:
            path = build(Path(args[1]) if len(args) > 1 else LIBRARY)
        except RuntimeError as exc:
            print(f"hacore launcher: {exc}", file=sys.stderr)
            return 1
        print(f"hacore launcher built: {path}")
        return 0
    launcher = load()
    print(f"hacore launcher: {launcher.path if launcher else 'not available'}")
    return 0 if launcher else 1


if __name__ == "__main__":
    sys.exit(main())
