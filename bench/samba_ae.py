#!/usr/bin/python3
"""Samba's own certificate autoenrollment (samba-gpupdate's
gp_cert_auto_enroll_ext, from Debian's python3-samba), run once against the
test domain as the machine, for bench/run.sh.

    samba_ae.py WORKDIR

What runs is the extension's process_group_policy() for one changed GPO whose
MACHINE/Registry.pol sets AEPolicy = 7 (enroll, manage, pending), exactly as
samba-gpupdate calls it after it has downloaded the GPO into its cache:
  CLDAP DC discovery (get_dc_hostname), the SASL/GSSAPI LDAP bind as the
  machine, the pKIEnrollmentService search, writing each CA certificate into
  the trust directory, and its bookkeeping in the GPO log (tdb).
The steps samba-gpupdate does before that (GPO list from LDAP, SMB download
of sysvol) are not run here: bench/samba_gpupdate.py measures the whole run.  The steps after it
(getcert add-ca/request through certmonger + cepces, MS-XCEP/WSTEP) are not
installed here; the extension logs that and stops, as on any host without
them.  The machine's TGT is obtained from its keytab (kinit -k, counted: the
command's children are in its CPU time), as adenroll does in-process.

Prints one line: import_ms=... ext_ms=... cas=N (in-process wall times).
Environment: the test domain's env.sh (ADCS_*) and KRB5_CONFIG.
"""
import os
import subprocess
import sys
import time

t_start = time.monotonic()
from samba import param                                     # noqa: E402
from samba.credentials import Credentials, MUST_USE_KERBEROS, SPECIFIED  # noqa: E402
from samba.dcerpc import misc, preg                         # noqa: E402
from samba.gp.gpclass import GPOStorage                     # noqa: E402
from samba.gp.gp_cert_auto_enroll_ext import gp_cert_auto_enroll_ext  # noqa: E402
from samba.ndr import ndr_pack                              # noqa: E402
t_imported = time.monotonic()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True                              # no __pycache__ in the tree
from samba_gpupdate import write_smb_conf                  # noqa: E402

GUID = '{6AC1786C-016F-11D2-945F-00C04FB984F9}'


class Gpo:
    """What gpclass.get_gpo_list() yields: a name and the sysvol path."""
    def __init__(self, name, path):
        self.name = name
        self.file_sys_path = path


def registry_pol(aepolicy):
    e = preg.entry()
    e.keyname = 'Software\\Policies\\Microsoft\\Cryptography\\AutoEnrollment'
    e.valuename = 'AEPolicy'
    e.type = misc.REG_DWORD
    e.data = aepolicy
    f = preg.file()
    f.header.signature = 'PReg'
    f.header.version = 1
    f.num_entries = 1
    f.entries = [e]
    return ndr_pack(f)


def main():
    work = os.path.abspath(sys.argv[1])
    env = os.environ
    realm, domain = env['ADCS_REALM'], env['ADCS_DOMAIN']
    for d in ('trust', 'keys'):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    conf = write_smb_conf(work, env)
    lp = param.LoadParm()
    lp.load(conf)

    # what samba-gpupdate would have fetched from \\domain\sysvol into its cache
    path = '\\\\%s\\sysvol\\%s\\Policies\\%s' % (domain, domain, GUID)
    pol = os.path.join(lp.cache_path('gpo_cache'), domain.upper(), 'POLICIES', GUID, 'MACHINE')
    os.makedirs(pol, exist_ok=True)
    with open(os.path.join(pol, 'REGISTRY.POL'), 'wb') as f:
        f.write(registry_pol(7))

    t0 = time.monotonic()
    ccache = os.path.join(work, 'krb5cc')
    subprocess.run(['kinit', '-k', '-t', env['ADCS_CLIENT_KEYTAB'], '-c', 'FILE:' + ccache,
                    env['ADCS_CLIENT_PRINCIPAL']], check=True)
    creds = Credentials()
    creds.guess(lp)
    creds.set_kerberos_state(MUST_USE_KERBEROS)
    creds.set_named_ccache(ccache, SPECIFIED, lp)
    store = GPOStorage(os.path.join(lp.get('cache directory'), 'gpo.tdb'))
    ext = gp_cert_auto_enroll_ext(lp, creds, creds.get_username(), store)
    store.start()
    ext.process_group_policy([], [Gpo(GUID, path)], trust_dir=os.path.join(work, 'trust'),
                             private_dir=os.path.join(work, 'keys'))
    store.commit()
    t1 = time.monotonic()
    cas = [n for n in os.listdir(os.path.join(work, 'trust')) if n.endswith('.crt')]
    print('import_ms=%.1f ext_ms=%.1f cas=%d' % ((t_imported - t_start) * 1000, (t1 - t0) * 1000, len(cas)))
    return 0 if cas else 1


if __name__ == '__main__':
    sys.exit(main())
