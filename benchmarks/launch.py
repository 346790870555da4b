"""Run a command and write its peak RSS (KiB, from os.wait4) to a file: `python -S launch.py FILE CMD...`.

Why a launcher: a child's peak RSS starts at the resident size of the process it was forked from,
so a command forked by the harness (which holds torch) would report at least the harness's memory.
This small fresh interpreter forks the command instead.
"""
import os
import sys

out, command = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execvp(command[0], command)
_, status, usage = os.wait4(pid, 0)
with open(out, "w", encoding="ascii") as handle:
    handle.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
