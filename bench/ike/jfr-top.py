#!/usr/bin/env python3
"""Where a JVM of the setup-rate benchmark spent its CPU, from a JFR recording made with
KEEL_JFR=1 bench/ike/keel-setup-rate.sh: execution samples (jdk.ExecutionSample) of the last
LAST seconds of the recording, minus the final SKIP seconds (drain and shutdown), counted by top
frame and inclusively by method.

usage: bench/ike/jfr-top.py RECORDING.jfr [LAST=35] [SKIP=5] [ROWS=60]
Needs `jfr` (the JDK's) on PATH.
"""
import collections
import datetime
import json
import subprocess
import sys


def main():
    path = sys.argv[1]
    last = float(sys.argv[2]) if len(sys.argv) > 2 else 35
    skip = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else 60
    out = subprocess.run(['jfr', 'print', '--json', '--stack-depth', '64', '--events', 'jdk.ExecutionSample', path],
                         check=True, capture_output=True, text=True).stdout
    events = json.loads(out)['recording']['events']

    def at(e):
        return datetime.datetime.fromisoformat(e['values']['startTime'].replace('Z', '+00:00')).timestamp()

    if not events:
        sys.exit('no execution samples in ' + path)
    end = max(at(e) for e in events)
    window = [e for e in events if end - last <= at(e) <= end - skip]
    top, inclusive = collections.Counter(), collections.Counter()
    for e in window:
        trace = e['values'].get('stackTrace') or {'frames': []}
        names = [f['method']['type']['name'].replace('/', '.') + '.' + f['method']['name'] for f in trace['frames']]
        if names:
            top[names[0]] += 1
        for name in set(names):
            if '$$Lambda' not in name:
                inclusive[name] += 1
    n = max(1, len(window))
    print(f'{len(window)} samples in the window ({last:g} s before the end of the recording to {skip:g} s before it)')
    print('--- top frames')
    for name, c in top.most_common(20):
        print(f'{c:6d} {100 * c / n:5.1f}%  {name}')
    print('--- inclusive')
    for name, c in inclusive.most_common(rows):
        print(f'{c:6d} {100 * c / n:5.1f}%  {name}')


if __name__ == '__main__':
    main()
