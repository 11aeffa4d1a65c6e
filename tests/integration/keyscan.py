#!/usr/bin/python3
"""keyscan.py PID KEYFILE...: which of the private keys in KEYFILE (PEM) are
in the memory of process PID (/proc/PID/mem, needs root).

For each key the needles are what a process holding it would have in
memory: the DER of the key (PKCS#8 as in the file), a base64 line of the
PEM, and the secret numbers (RSA d, p, q; EC private scalar) both big-endian
(DER, OpenSSL's encodings) and little-endian (OpenSSL BIGNUM words on a
little-endian machine), 24 leading bytes each.  Prints one line per key
found, "KEYFILE NEEDLE-KIND", and "scanned N bytes" on stderr; exit 0.
Exit 2 when the memory cannot be read at all."""
import base64
import re
import subprocess
import sys

PIECE = 24


def secret_numbers(path):
    """The secret integers of the key, as printed by openssl pkey -text."""
    out = subprocess.run(["openssl", "pkey", "-in", path, "-noout", "-text"], check=True,
                         capture_output=True, text=True).stdout
    nums, name, hexdigits = {}, None, ""
    for line in out.splitlines():
        m = re.match(r"^([A-Za-z0-9]+):\s*$", line)
        if m:
            if name and hexdigits:
                nums[name] = int(hexdigits, 16)
            name, hexdigits = m.group(1), ""
        elif name and re.match(r"^\s+[0-9a-f:]+$", line):
            hexdigits += line.strip().replace(":", "")
        else:
            if name and hexdigits:
                nums[name] = int(hexdigits, 16)
            name, hexdigits = None, ""
    if name and hexdigits:
        nums[name] = int(hexdigits, 16)
    keep = ("privateExponent", "prime1", "prime2", "priv")
    return {k: v for k, v in nums.items() if k in keep}


def needles(path):
    pem = open(path, "rb").read()
    lines = [l for l in pem.splitlines() if l and not l.startswith(b"-----")]
    der = base64.b64decode(b"".join(lines))
    out = [("der", der[-PIECE * 2:]), ("pem-line", lines[len(lines) // 2])]
    for name, n in secret_numbers(path).items():
        be = n.to_bytes((n.bit_length() + 7) // 8, "big")
        out.append((name + "-be", be[:PIECE]))
        out.append((name + "-le", be[::-1][:PIECE]))
    return out


def regions(pid):
    for line in open("/proc/%d/maps" % pid):
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        perms = parts[1]
        name = parts[5] if len(parts) > 5 else ""
        # sanitizer shadow and reserved ranges are huge and all zeros
        if "r" not in perms or name in ("[vvar]", "[vsyscall]", "[vvar_vclock]") or hi - lo > (1 << 30):
            continue
        yield lo, hi


def main():
    pid = int(sys.argv[1])
    keys = [(p, needles(p)) for p in sys.argv[2:]]
    found, scanned = set(), 0
    overlap = max((len(n) for _, ns in keys for _, n in ns), default=1)
    try:
        mem = open("/proc/%d/mem" % pid, "rb", buffering=0)
    except OSError as e:
        print("cannot open the memory of %d: %s" % (pid, e), file=sys.stderr)
        return 2
    for lo, hi in regions(pid):
        tail = b""
        pos = lo
        while pos < hi:
            n = min(1 << 22, hi - pos)
            try:
                mem.seek(pos)
                chunk = mem.read(n)
            except OSError:
                break
            if not chunk:
                break
            scanned += len(chunk)
            buf = tail + chunk
            for path, ns in keys:
                for kind, needle in ns:
                    if (path, kind) not in found and needle in buf:
                        found.add((path, kind))
            tail = buf[-overlap:]
            pos += len(chunk)
    print("scanned %d bytes of %d" % (scanned, pid), file=sys.stderr)
    if scanned == 0:
        return 2
    for path, kind in sorted(found):
        print(path, kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
