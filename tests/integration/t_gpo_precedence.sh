#!/bin/bash
# Group Policy decides autoenrollment, read from the DC's SYSVOL over SMB:
# AEPolicy 7 linked at the domain enrolls and renews; 0x8000 at the client's
# OU (more specific) stops everything, keeps what is held and names the GPO;
# an enforced domain link beats the OU's; a disabled link, the computer part
# disabled and security filtering denying Domain Computers each take the OU's
# GPO out; block inheritance at the OU takes the domain's out.
. "$TESTS_LIB"

[ -x "${ADENROLL_GPO_FETCH:-}" ] || skip "adenroll-gpo-fetch was not built (libsmbclient-dev missing)"
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" policy.source=gpo
G_ON="" G_OFF="" OU=""
trap 'gpo_cleanup $G_ON $G_OFF -- $OU' EXIT

G_ON=$(gpo_new "adenroll AE on") || exit 1
G_OFF=$(gpo_new "adenroll AE off") || exit 1
OU=$(gpo_client_ou AdenrollGpo) || exit 1
gpo_set "$G_ON" machine 7 20
gpo_set "$G_OFF" machine 0x8000
gpo_link "$G_ON" "$ADCS_DOMAIN_DN"

# which GPO decided, as pulse logs it
policy_line() { printf '%s\n' "$OUT" | grep -m1 'autoenrollment policy '; }

note "AEPolicy 7 at the domain: enroll (NeedsEmail is denied by the CA: exit 4)"
assert_exit 4 "$ADENROLL" --config "$CONF" pulse
assert_contains "$(policy_line)" "autoenrollment policy 0x7 (update_templates, renew_and_remove_revoked, retrieve_pending) from GPO adenroll AE on ($G_ON) linked at $ADCS_DOMAIN_DN" "policy origin"
assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial' "pulse output"
assert_file "$SCRATCH/state/gpo/policy.machine"
assert_file "$SCRATCH/state/gpo/$G_ON.machine.1.pol"
serial=$(cert_serial "$SCRATCH/certs/LinuxWorkstation.crt")

note "--force renews under AEPolicy 7 (renewal allowed)"
assert_exit 4 "$ADENROLL" --config "$CONF" --force pulse
assert_match "$OUT" '^LinuxWorkstation: (renewed|enrolled) \(serial' "forced pulse"
serial=$(cert_serial "$SCRATCH/certs/LinuxWorkstation.crt")

note "0x8000 at the client's OU: nothing is enrolled or renewed, held certificates stay"
gpo_link "$G_OFF" "$OU"
before=$(store_snapshot)
disabled="autoenrollment is disabled by GPO adenroll AE off ($G_OFF) linked at $OU"
assert_exit 0 "$ADENROLL" --config "$CONF" pulse
assert_contains "$OUT" "$disabled" "pulse output"
assert_contains "$OUT" "LinuxWorkstation: not renewed: $disabled" "per-template line"
assert_not_contains "$OUT" "enrolled (serial" "pulse output"
assert_eq "$before" "$(store_snapshot)" "the store after a disabled pulse"
assert_eq "$serial" "$(cert_serial "$SCRATCH/certs/LinuxWorkstation.crt")" "held certificate"
note "... --force changes nothing either, and --json says where the policy came from"
assert_exit 0 "$ADENROLL" --config "$CONF" --force --json pulse
assert_contains "$OUT" "\"policy_source\":\"gpo\"" "json"
assert_contains "$OUT" "$disabled" "json"
assert_eq "$before" "$(store_snapshot)" "the store after a forced disabled pulse"

note "the enforced domain link beats the OU's"
gpo_link "$G_ON" "$ADCS_DOMAIN_DN" enforce
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$(policy_line)" "from GPO adenroll AE on ($G_ON) linked at $ADCS_DOMAIN_DN (enforced)" "policy origin"
note "OfflineExpirationPercent from the GPO: a warning (event and metric) below that share of the lifetime"
gpo_set "$G_ON" machine 7 99
write_config "$CONF" policy.source=gpo general.metrics_file="$SCRATCH/adenroll.prom"
assert_exit 4 "$ADENROLL" --config "$CONF" pulse      # NeedsEmail is denied again
assert_contains "$OUT" "ShortLived: the certificate expires at" "expiring warning (10-minute certificate)"
assert_contains "$OUT" "less than 99% of its lifetime left (OfflineExpirationPercent from GPO adenroll AE on ($G_ON)" "expiring warning"
grep -q '^adenroll_last_run_offline_expiring_certificates [1-9]' "$SCRATCH/adenroll.prom" \
  || fail "no offline-expiring count in the metrics: $(grep offline "$SCRATCH/adenroll.prom")"
write_config "$CONF" policy.source=gpo
gpo_link "$G_ON" "$ADCS_DOMAIN_DN"
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$OUT" "$disabled" "not enforced any more"

note "a disabled link does not apply"
gpo_link "$G_OFF" "$OU" disable
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$(policy_line)" "from GPO adenroll AE on ($G_ON)" "policy origin"
gpo_link "$G_OFF" "$OU"

note "the computer part disabled: the GPO does not apply to machines"
domain gpo flags "$G_OFF" 2
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$(policy_line)" "from GPO adenroll AE on ($G_ON)" "policy origin"
domain gpo flags "$G_OFF" 0
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$OUT" "$disabled" "computer part enabled again"

note "security filtering denies Domain Computers"
domain gpo deny-computers "$G_OFF"
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$(policy_line)" "from GPO adenroll AE on ($G_ON)" "policy origin"
assert_exit 0 "$ADENROLL" --config "$CONF" explain LinuxWorkstation
assert_contains "$OUT" "denied by security filtering" "explain"

note "block inheritance at the OU: the domain's GPO does not apply, the local switches do"
domain gpo unlink "$G_OFF" "$OU"
domain gpo block "$OU" on
write_config "$CONF" policy.source=gpo policy.disabled=yes
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$OUT" "autoenrollment is disabled by the local configuration" "blocked domain GPO"
assert_exit 0 "$ADENROLL" --config "$CONF" explain LinuxWorkstation
assert_contains "$OUT" "blocked by inheritance" "explain"
domain gpo block "$OU" off
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$(policy_line)" "from GPO adenroll AE on ($G_ON)" "inheritance restored"

note "source = local ignores Group Policy"
write_config "$CONF" policy.source=local policy.disabled=yes
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_contains "$OUT" "autoenrollment is disabled by the local configuration" "source = local"
