#!/usr/bin/python3
"""Run a command once and report what it cost, as one line of key=value:

    measure.py OUTFILE CMD [ARG...]

wall_ms   monotonic wall time from fork to exit
cpu_ms    user + system CPU of the command and the children it waited for
          (wait4 rusage: microsecond resolution, unlike /usr/bin/time's %U/%S)
rss_kib   peak resident set size (ru_maxrss)
lo_bytes  bytes that crossed the loopback interface meanwhile: inside the
          bench's private network namespace that is every packet between
          the client and the DC/CA (DNS, Kerberos, LDAP, HTTPS), headers included
rc        exit status

The command's stdout and stderr go to OUTFILE.
"""
import os
import sys
import time


def lo_bytes():
    with open('/proc/net/dev') as f:
        for line in f:
            name, _, rest = line.partition(':')
            if name.strip() == 'lo':
                return int(rest.split()[0])   # receive bytes: each packet once
    return 0


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: measure.py OUTFILE CMD [ARG...]')
    out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    b0 = lo_bytes()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.dup2(out, 1)
        os.dup2(out, 2)
        try:
            os.execvp(sys.argv[2], sys.argv[2:])
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.monotonic()
    b1 = lo_bytes()
    rc = os.waitstatus_to_exitcode(status)
    print('wall_ms=%.2f cpu_ms=%.2f user_ms=%.2f sys_ms=%.2f rss_kib=%d lo_bytes=%d rc=%d' % (
        (t1 - t0) * 1000, (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_utime * 1000,
        ru.ru_stime * 1000, ru.ru_maxrss, b1 - b0, rc))


if __name__ == '__main__':
    main()
