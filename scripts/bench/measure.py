"""Run one command and print its wall time and the peak resident memory of its process tree (JSON).

Started as its own process so that `RUSAGE_CHILDREN` holds only this command's processes."""

import json
import resource
import subprocess
import sys
import time

if __name__ == "__main__":
    began = time.monotonic()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    wall = time.monotonic() - began
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(json.dumps({"returncode": done.returncode, "wall_s": wall, "peak_rss_mib": peak_kib / 1024}))
    if done.returncode:
        sys.stderr.write(done.stdout[-6000:] + done.stderr[-3000:])
