"""Runs a command as a child and writes its peak resident set (VmHWM at exit, from wait4's ru_maxrss) in bytes to a
file, so a benchmark reads one process's own peak.

Usage: _peak_rss.py out_file command [args...]; exits with the command's status.
"""
import os
import subprocess
import sys

child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status))
