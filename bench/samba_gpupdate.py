#!/usr/bin/python3
"""A Samba domain member for the whole `samba-gpupdate --target=Computer`
run in bench/run.sh (Debian's samba-common-bin and python3-samba).

    samba_gpupdate.py join WORKDIR        make WORKDIR a joined member (once)
    samba_gpupdate.py forget WORKDIR      drop what samba-gpupdate cached: the
                                          next run is a first run
    samba_gpupdate.py check WORKDIR LOG GUID...
                                          after a run: did it complete?

What bench/run.sh times is the installed script itself, unchanged, run the
way a member runs it (as root, its machine credentials from its own secrets
database):

    samba-gpupdate --configfile=WORKDIR/smb.conf --target=Computer

DC discovery (CLDAP), the GPO list over LDAP (SOMs, links, the machine's
token from tokenGroups for security filtering), the download of every
applicable GPO's files from SYSVOL over SMB into its cache, then every
machine extension it registers (security, Kerberos, scripts, sudoers, files,
messages, GNOME, Firefox, Chromium, firewalld, ...  and
gp_cert_auto_enroll_ext, which finds AEPolicy in a changed GPO, searches the
enrollment services, writes the CA certificates, runs update-ca-certificates
and stops where certmonger + cepces would take over).

Why a join of its own: samba-gpupdate takes the machine's password and the
domain SID from Samba's secrets database (secrets.tdb), which a host joined
with adcli (the bench's CLIENT$) does not have.  Without the domain SID,
Samba 4.17 cannot finish the machine's (or any account's) token: the
tokenGroups search succeeds, then create_local_nt_token() fails adding the
BUILTIN aliases ("Failed to fetch domain sid", NT_STATUS_INVALID_PARAMETER_MIX)
and ads.get_gpo_list() raises "Failed to get sid token".  Giving CLIENT$ a
secrets database would mean resetting its password, which invalidates the
keytab adenroll uses; so `join` joins a second machine account, GPBENCH$,
with `net ads join` (a real Samba member: password and domain SID in
WORKDIR/private/secrets.tdb, no keytab, no DNS update).  GPBENCH$ is created
in CN=Computers beside CLIENT$ and is in the same groups (Domain Computers),
so the GPO list is the same.  The join is setup, outside the timed runs.

certmonger must not be installed without cepces (Debian 12 packages
certmonger, not cepces): with getcert on PATH, 4.17's cert_enroll() calls
os.path.exists() on cepces-submit's path, None when it is missing, and the
extension fails with a TypeError.  Without certmonger it logs that
certmonger and cepces are needed and stops, as on any host without them.

check exits 0 when the run completed: samba-gpupdate logged no error (a
failed SYSVOL download or a failed extension is logged and leaves its exit
status 0; bench/run.sh checks that status), every GUID's GPT.INI is in its cache, gpo.tdb
holds the version of every GUID (written after the last extension ran), and,
with --cert, the certificate extension wrote the CA certificate.

Environment: the test domain's env.sh (ADCS_*) and KRB5_CONFIG.
"""
import os
import re
import shutil
import subprocess
import sys

NETBIOS_NAME = 'GPBENCH'
STATE_DIRS = ('cache', 'state', 'lock', 'run')


def write_smb_conf(work, env, extra=''):
    """A member's smb.conf whose state lives in WORKDIR (also used by samba_ae.py)."""
    for d in STATE_DIRS + ('private',):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    conf = os.path.join(work, 'smb.conf')
    with open(conf, 'w') as f:
        f.write('[global]\n\tworkgroup = %s\n\trealm = %s\n\tsecurity = ads\n'
                '\tcache directory = %s/cache\n\tstate directory = %s/state\n'
                '\tprivate dir = %s/private\n\tlock directory = %s/lock\n'
                '\tpid directory = %s/run\n\tncalrpc dir = %s/run\n\tlog level = 0\n'
                % ((env['ADCS_NETBIOS'], env['ADCS_REALM']) + (work,) * 6) + extra)
    return conf


def join(work, env):
    conf = write_smb_conf(work, env, '\tnetbios name = %s\n\tkerberos method = secrets only\n'
                          '\tapply group policies = yes\n' % NETBIOS_NAME)
    admin = '%s%%%s' % (env['ADCS_ADMIN_USER'], env['ADCS_ADMIN_PASSWORD'])
    subprocess.run(['net', 'ads', 'join', '-s', conf, '-U', admin, '--no-dns-updates'],
                   check=True, stdout=sys.stderr)
    subprocess.run(['net', 'ads', 'testjoin', '-s', conf], check=True, stdout=sys.stderr)
    print(conf)
    return 0


def forget(work):
    for d in STATE_DIRS:
        shutil.rmtree(os.path.join(work, d), ignore_errors=True)
        os.makedirs(os.path.join(work, d))
    return 0


def check(work, log, args):
    want_cert = '--cert' in args
    guids = [a for a in args if a != '--cert']
    problems = []
    with open(log, errors='replace') as f:
        text = f.read()
    for line in text.splitlines():
        # samba.gp.util.logging's errors ("|[E01234]| ..."), which reach
        # stderr at any log level; a failed SYSVOL download or extension is
        # one of them and leaves the exit status 0
        if re.search(r'\|\[E[0-9]{5}\]\|', line) or line.startswith('Traceback'):
            problems.append('logged: ' + line.strip()[:200])
    from samba import param
    from samba.gp.gpclass import GPOStorage
    lp = param.LoadParm()
    lp.load(os.path.join(work, 'smb.conf'))
    cache = lp.cache_path('gpo_cache')
    realm = os.environ['ADCS_REALM'].upper()
    store = GPOStorage(os.path.join(lp.get('cache directory'), 'gpo.tdb'))
    for g in guids:
        if not os.path.exists(os.path.join(cache, realm, 'POLICIES', g.upper(), 'GPT.INI')):
            problems.append('%s: not downloaded from SYSVOL' % g)
        if store.get_int(g) is None:
            problems.append('%s: no version in gpo.tdb (the run did not finish)' % g)
    if want_cert:
        ca = os.path.join(lp.cache_path('certs'), os.environ['ADCS_CA_NAME'] + '.crt')
        if not os.path.exists(ca):
            problems.append('the certificate extension wrote no %s' % ca)
    for p in problems:
        print('samba-gpupdate: ' + p, file=sys.stderr)
    return 1 if problems else 0


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, work = sys.argv[1], os.path.abspath(sys.argv[2])
    if cmd == 'join':
        return join(work, os.environ)
    if cmd == 'forget':
        return forget(work)
    if cmd == 'check' and len(sys.argv) >= 4:
        return check(work, sys.argv[3], sys.argv[4:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
