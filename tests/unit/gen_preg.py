#!/usr/bin/python3
# Writes the Registry.pol fixtures of tests/unit/test_preg.c with Samba's own
# PReg encoder (samba.dcerpc.preg, the NDR of MS-GPREG 2.2.1), so the parser
# is tested against files another implementation wrote.  The output is
# committed; rerun after changing a case:
#   /usr/bin/python3 tests/unit/gen_preg.py tests/unit/data/preg
import os
import struct
import sys

from samba.dcerpc import misc, preg
from samba.ndr import ndr_pack

AE = 'Software\\Policies\\Microsoft\\Cryptography\\AutoEnrollment'
PS = 'Software\\Policies\\Microsoft\\Cryptography\\PolicyServers'


def entry(key, value, typ, data):
    e = preg.entry()
    e.keyname = key
    e.valuename = value
    e.type = typ
    e.data = data
    return e


def pol(entries):
    f = preg.file()
    f.num_entries = len(entries)
    f.entries = entries
    return ndr_pack(f)


def sz(s):
    return s  # samba encodes REG_SZ data given as str as UTF-16LE with NUL


FILES = {
    # GPMC "Enabled" with both boxes, expiry notification at 10 %
    'ae_enabled7.pol': [
        entry(AE, 'AEPolicy', misc.REG_DWORD, 7),
        entry(AE, 'OfflineExpirationPercent', misc.REG_DWORD, 10),
        entry(AE, 'OfflineExpirationStoreNames', misc.REG_SZ, sz('MY')),
    ],
    # GPMC "Disabled"
    'ae_disabled.pol': [
        entry(AE, 'AEPolicy', misc.REG_DWORD, 0x8000),
    ],
    # a later GPO that removes the value and then the whole key's values
    'ae_delete.pol': [
        entry(AE, '**del.OfflineExpirationPercent', misc.REG_SZ, sz(' ')),
        entry(AE, '**DeleteValues', misc.REG_SZ, sz('OfflineExpirationStoreNames;Nothing')),
    ],
    'ae_delvals.pol': [
        entry(AE, '**delvals.', misc.REG_SZ, sz(' ')),
        entry(AE, 'AEPolicy', misc.REG_DWORD, 1),
    ],
    # the CEP list as GPMC writes it (one LDAP: entry)
    'policy_servers.pol': [
        entry(PS, '**DeleteKeys', misc.REG_SZ, sz('37c9dc30f207f27f61a2f7c3aed598a6e2920b54')),
        entry(PS + '\\37c9dc30f207f27f61a2f7c3aed598a6e2920b54', 'URL', misc.REG_SZ, sz('LDAP:')),
        entry(PS + '\\37c9dc30f207f27f61a2f7c3aed598a6e2920b54', 'PolicyID', misc.REG_SZ,
              sz('{A5E9BF57-71C6-443A-B7FC-79EFA6F73EBD}')),
        entry(PS + '\\37c9dc30f207f27f61a2f7c3aed598a6e2920b54', 'FriendlyName', misc.REG_SZ,
              sz('Active Directory Enrollment Policy')),
        entry(PS + '\\37c9dc30f207f27f61a2f7c3aed598a6e2920b54', 'Flags', misc.REG_DWORD, 0x14),
        entry(PS + '\\37c9dc30f207f27f61a2f7c3aed598a6e2920b54', 'AuthFlags', misc.REG_DWORD, 2),
        entry(PS + '\\37c9dc30f207f27f61a2f7c3aed598a6e2920b54', 'Cost', misc.REG_DWORD, 0x7ffffffd),
        entry(PS, 'Flags', misc.REG_DWORD, 0),
    ],
    'drop_policy_servers.pol': [
        entry(PS, '**DeleteKeys', misc.REG_SZ, sz('37c9dc30f207f27f61a2f7c3aed598a6e2920b54')),
    ],
    'empty.pol': [],
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, entries in FILES.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(pol(entries))
    # a truncated copy for the error path
    data = pol(FILES['ae_enabled7.pol'])
    with open(os.path.join(out, 'truncated.pol'), 'wb') as f:
        f.write(data[:len(data) - 7])


if __name__ == '__main__':
    main()
