#!/bin/bash
# The CA's web enrollment pages in Japanese, German, French (UTF-8) and
# Japanese through a transcoding proxy (Shift_JIS): a full pulse (issued,
# pending, denied), the pending request collected after approval without a
# second submission, and a pending request denied by the CA manager, each
# with the right request ids and HRESULTs.  The language is pinned at the CA
# (`domain.sh lang`) as a site can pin a culture; one more run picks German
# by Accept-Language.
. "$TESTS_LIB"

ACCESS=$ADCS_EMU_DIR/state/access.jsonl
trap 'domain lang auto > /dev/null 2>&1' EXIT

# requests the CA recorded for template $1 from this machine, as "id status hresult" lines
ca_requests() {
  /usr/bin/python3 - "$ADCS_EMU_DIR/state" "$1" <<'PY'
import glob, json, os, sys
rows = []
for f in glob.glob(os.path.join(sys.argv[1], "req-*.json")):
    m = json.load(open(f))
    if m.get("template") == sys.argv[2] and m.get("requester", "").upper().startswith("CLIENT$"):
        rows.append((m["id"], m["status"], m.get("hresult", "")))
for r in sorted(rows):
    print("%d %s %s" % r)
PY
}
# the languages of the pages the CA answered since line $1 of its access log
langs_since() { tail -n +"$(($1 + 1))" "$ACCESS" | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l).get("lang", "?") for l in sys.stdin if l.strip()})))'; }
log_lines() { if [ -f "$ACCESS" ]; then wc -l < "$ACCESS"; else echo 0; fi; }

variant() {  # variant LANG [--charset shift_jis]
  local lang=$1 name=$1 dir conf req n0 before cs=utf-8
  [ $# -gt 1 ] && name=$1-$3 cs=CP932
  note "pages in $name"
  domain lang "$@" > /dev/null || fail "domain.sh lang $* failed"
  dir=$SCRATCH/$name conf=$SCRATCH/$name/adenroll.conf
  mkdir -p "$dir"
  write_config "$conf" store.pem_dir="$dir/certs" store.archive_dir="$dir/archive" store.state_dir="$dir/state"
  # the page itself is in that language (and charset)
  kinit_client
  page=$(certsrv_get "certnew.cer?ReqID=999999&Enc=b64" | iconv -f "$cs" -t utf-8) \
    || fail "[$name] the Error page is not $cs"
  case $lang in
    ja) assert_contains "$page" "処理メッセージ:" "[$name] Error page" ;;
    de) assert_contains "$page" "Dispositionsmeldung:" "[$name] Error page" ;;
    fr) assert_contains "$page" "Message de décision :" "[$name] Error page" ;;
  esac
  assert_not_contains "$page" "Disposition message:" "[$name] Error page"
  assert_contains "$page" "ID=locDispMsgLabel" "[$name] Error page"
  kdestroy > /dev/null 2>&1 || true

  n0=$(log_lines)
  before=$(ca_requests PendingApproval | wc -l)
  assert_exit 4 "$ADENROLL" --config "$conf" pulse
  assert_eq "$lang" "$(langs_since "$n0")" "[$name] languages of the CA's answers"
  assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial [0-9A-F]+' "[$name] pulse output"
  assert_file "$dir/certs/LinuxWorkstation.crt"
  req=$(printf '%s\n' "$OUT" | sed -n "s/^PendingApproval: pending (request \\([0-9]*\\) at $ADCS_CA_NAME)\$/\\1/p")
  [ -n "$req" ] || fail "[$name] PendingApproval is not pending; output: $OUT"
  assert_eq "$req pending " "$(ca_requests PendingApproval | tail -n 1)" "[$name] the CA's newest PendingApproval request"
  assert_eq $((before + 1)) "$(ca_requests PendingApproval | wc -l)" "[$name] PendingApproval submissions"
  assert_file "$dir/state/pending/PendingApproval.key"
  assert_contains "$OUT" "NeedsEmail: denied by $ADCS_CA_NAME: " "[$name] pulse output"
  assert_contains "$OUT" "(0x80094812 CERTSRV_E_SUBJECT_EMAIL_REQUIRED: " "[$name] pulse output"
  n=$(ca_requests NeedsEmail | tail -n 1)
  assert_eq "denied 0x80094812" "${n#* }" "[$name] the CA's newest NeedsEmail request"

  note "[$name] run 2: request $req approved"
  domain approve "$req" > /dev/null || fail "domain.sh approve $req failed"
  assert_exit 4 "$ADENROLL" --config "$conf" pulse
  assert_match "$OUT" '^PendingApproval: enrolled \(serial [0-9A-F]+' "[$name] pulse output"
  assert_match "$OUT" '^LinuxWorkstation: valid until ' "[$name] pulse output"
  assert_eq $((before + 1)) "$(ca_requests PendingApproval | wc -l)" "[$name] PendingApproval submissions after approval"
  assert_eq "$req issued " "$(ca_requests PendingApproval | tail -n 1)" "[$name] request $req at the CA"
  pair_files "$dir/certs/PendingApproval.crt" "$dir/certs/PendingApproval.key" > /dev/null
  assert_no_file "$dir/state/pending/PendingApproval.key"

  note "[$name] a pending request denied by the CA manager"
  write_config "$conf.2" store.pem_dir="$dir/certs2" store.archive_dir="$dir/archive2" store.state_dir="$dir/state2"
  assert_exit 3 "$ADENROLL" --config "$conf.2" enroll PendingApproval
  req=$(printf '%s\n' "$OUT" | sed -n "s/^PendingApproval: pending (request \\([0-9]*\\) at $ADCS_CA_NAME)\$/\\1/p")
  [ -n "$req" ] || fail "[$name] PendingApproval is not pending; output: $OUT"
  assert_exit 0 "$ADENROLL" --config "$conf.2" enroll PendingApproval
  assert_contains "$OUT" "PendingApproval: pending (request $req at $ADCS_CA_NAME): already submitted" "[$name] enroll output"
  domain deny "$req" > /dev/null || fail "domain.sh deny $req failed"
  assert_exit 1 "$ADENROLL" --config "$conf.2" enroll PendingApproval
  assert_contains "$OUT" "PendingApproval: denied by $ADCS_CA_NAME: " "[$name] enroll output"
  assert_contains "$OUT" "(0x80094014 CERTSRV_E_ADMIN_DENIED_REQUEST: " "[$name] enroll output"
  assert_no_file "$dir/state2/pending/PendingApproval.key"
  assert_no_file "$dir/certs2/PendingApproval.crt"
  assert_eq "$req denied 0x80094014" "$(ca_requests PendingApproval | tail -n 1)" "[$name] request $req at the CA"
}

variant ja
variant de
variant fr
variant ja --charset shift_jis

note "auto: German by Accept-Language"
domain lang auto > /dev/null || fail "domain.sh lang auto failed"
kinit_client
page=$(curl -sS --cacert "$ADCS_CA_CERT" --negotiate -u : -H 'Accept-Language: de-AT, fr;q=0.8, en;q=0.5' \
  "$ADCS_CERTSRV_URL/certnew.cer?ReqID=999999&Enc=b64")
assert_contains "$page" "Dispositionsmeldung:" "page for Accept-Language de-AT"
page=$(certsrv_get "certnew.cer?ReqID=999999&Enc=b64")
assert_contains "$page" "Disposition message:" "page without Accept-Language"
