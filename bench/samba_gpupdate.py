#!/usr/bin/python3
"""The whole of `samba-gpupdate --target=Computer` (Debian's samba-common-bin
and python3-samba), run once against the test domain as the machine, for
bench/run.sh.

    samba_gpupdate.py WORKDIR

What runs is the installed samba-gpupdate script itself (runpy), unchanged:
DC discovery (CLDAP), the GPO list over LDAP (SOMs, links, security
filtering), the download of every applicable GPO's files from SYSVOL over SMB
into its cache, then every machine extension it registers (security, Kerberos,
scripts, sudoers, files, messages, GNOME, Firefox, Chromium, firewalld, ...
and gp_cert_auto_enroll_ext, which finds AEPolicy in the GPO, searches the
enrollment services, writes the CA certificates, runs update-ca-certificates
and stops where certmonger + cepces would take over: they are not installed).
State (gpo.tdb, the GPO cache) lives in WORKDIR: a WORKDIR used before is a
repeated run (nothing changed since), a new one a first run.

Two things differ from a real host, both because samba-gpupdate takes the
machine's credentials from Samba's secrets database, which a host joined
with adcli does not have (its secret is in the keytab only, and Samba's ADS
connect wants a password; the machine's token for security filtering is
computed with that secret too):
  - the domain administrator's password stands in for the machine secret
    (Samba gets its own TGT with it, inside the timed process);
  - the GPO list is computed for Administrator (CN=Users) rather than for
    CLIENT$ (CN=Computers): on the bench domain neither container has links
    of its own, so both get the domain's GPOs, the same list.
Everything else, the machine extensions included (--target=Computer), is
the installed script.  Credentials.set_machine_account is the only thing
replaced.

Environment: the test domain's env.sh (ADCS_*) and KRB5_CONFIG.
Exit status: samba-gpupdate's.
"""
import os
import runpy
import shutil
import sys

SCRIPT = shutil.which('samba-gpupdate', path='/usr/sbin:/usr/bin:/sbin:/bin')


def write_smb_conf(work, env, extra=''):
    """A member's smb.conf whose state lives in WORKDIR (also used by samba_ae.py)."""
    for d in ('cache', 'state', 'private', 'lock', 'run'):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    conf = os.path.join(work, 'smb.conf')
    with open(conf, 'w') as f:
        f.write('[global]\n\tworkgroup = %s\n\trealm = %s\n\tsecurity = ads\n'
                '\tcache directory = %s/cache\n\tstate directory = %s/state\n'
                '\tprivate dir = %s/private\n\tlock directory = %s/lock\n'
                '\tpid directory = %s/run\n\tncalrpc dir = %s/run\n\tlog level = 0\n'
                % ((env['ADCS_NETBIOS'], env['ADCS_REALM']) + (work,) * 6) + extra)
    return conf


def main():
    work = os.path.abspath(sys.argv[1])
    env = os.environ
    realm = env['ADCS_REALM']
    conf = write_smb_conf(work, env, '\tapply group policies = yes\n')
    import samba.credentials as credentials

    class MachineStandIn(credentials.Credentials):
        """The administrator in place of the machine secret (see above)."""
        def set_machine_account(self, lp=None):
            self.set_username('Administrator')
            self.set_password(env['ADCS_ADMIN_PASSWORD'])
            self.set_domain(env['ADCS_NETBIOS'])
            self.set_realm(realm)
            return True

    # samba-gpupdate and samba.getopt import the name when they load: after this
    credentials.Credentials = MachineStandIn
    sys.argv = [SCRIPT, '--configfile=' + conf, '--target=Computer', '-U', 'Administrator',
                '--password=' + env['ADCS_ADMIN_PASSWORD']]
    try:
        runpy.run_path(SCRIPT, run_name='__main__')
    except SystemExit as e:
        return e.code or 0
    return 0


if __name__ == '__main__':
    sys.exit(main())
