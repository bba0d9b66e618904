"""The node's hivemind processes live and die with the node.

hivemind runs the DHT in a forked child process, and that child runs the `p2pd` daemon. Nothing ties either to
the node: a node killed with SIGKILL (or SIGTERM, whose default action skips every `finally`) leaves both
running, still holding the node's identity, and the restarted node then fails with hivemind's "Identity ... is
already taken by another peer". Three guards close that:

* `NodeDHT` is hivemind's DHT whose child asks Linux to send it SIGTERM when the node dies
  (PR_SET_PDEATHSIG), and whose SIGTERM handler stops its own children (p2pd) before exiting;
* `stale_daemons` finds a p2pd left running by an earlier run on the same identity file (a DHT child killed
  with SIGKILL itself cannot stop its p2pd), and `stop_processes` ends them before the node starts again;
* the node CLIs turn SIGTERM into the same clean shutdown as Ctrl-C (see `offchain/swarm/node.py`).

Linux only (prctl and /proc); elsewhere the guards do nothing and the node behaves as hivemind does.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

import hivemind

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def children(pid: int) -> list[int]:
    """Pids of the live direct children of `pid` (empty where /proc is not there)."""
    out = []
    for entry in _proc_entries():
        try:
            # the comm field (2nd) may hold spaces and parentheses: the ppid is the 2nd field after the last ')'
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(entry)
        except (OSError, ValueError, IndexError):
            continue
    return out


def descendants(pid: int) -> list[int]:
    """Children, their children, and so on."""
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def stale_daemons(identity_path: str | os.PathLike[str]) -> list[int]:
    """Pids of running p2pd daemons started on this identity file (by any earlier run of any node)."""
    target = Path(identity_path).resolve()
    found = []
    for pid in _proc_entries():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if not args or not Path(os.fsdecode(args[0])).name == "p2pd":
                continue
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        for arg in args[1:]:
            if arg.startswith(b"-id=") and (cwd / os.fsdecode(arg[4:])).resolve() == target:
                found.append(pid)
    return found


def stop_processes(pids: list[int], *, grace_s: float = 5.0) -> None:
    """SIGTERM each pid, then SIGKILL whatever still runs after `grace_s`."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        _signal(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class NodeDHT(hivemind.DHT):
    """hivemind.DHT whose background process, and the p2pd it starts, end when the process that made it ends."""

    def __init__(self, *args, **kwargs) -> None:
        self._owner_pid = os.getpid()  # set before hivemind forks (start=True forks inside __init__)
        super().__init__(*args, **kwargs)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, _stop_children_and_exit)
        _die_with_parent(self._owner_pid)
        super().run()


def _die_with_parent(owner_pid: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the restart-time cleanup is the only guard
        return
    if os.getppid() != owner_pid:  # the owner died before prctl took hold
        _stop_children_and_exit(signal.SIGTERM, None)


def _stop_children_and_exit(signum, frame) -> None:
    # p2pd is this process's child; nothing else would stop it once this process is gone
    stop_processes(children(os.getpid()), grace_s=2.0)
    os._exit(128 + signum)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _proc_entries() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
