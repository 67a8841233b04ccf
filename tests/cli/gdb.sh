#!/bin/bash
# kvsm run --gdb PORT (docs/gdb.md), driven by Debian's gdb in batch mode against
# build/guests/gdb_vtl.elf with two VTLs: a stop in VTL1 code (Ctrl-C while VTL1 loops on one
# instruction), both VTLs' registers at that stop (exact values), a register write, VTL0 denied a
# page VTL1 protected, stepping over a VTL call in VTL0, software breakpoint bytes, malformed
# packets, and the socket: 127.0.0.1 only, one debugger; and a breakpoint in VTL1 code hit during
# VTL0's third VTL call.
# Prints "ok NAME", "FAIL NAME: details" or "skip NAME: reason".
set -u
cd "$(dirname "$0")/../.."
KVSM=${KVSM:-build/kvsm}	# e.g. build/tsan/kvsm
ELF=build/guests/gdb_vtl.elf
TIMEOUT=${KVSM_GUEST_TIMEOUT:-300}

if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "skip gdb: /dev/kvm is not available, guest tests need KVM"
	exit 0
fi
if ! command -v gdb >/dev/null; then
	echo "FAIL gdb: gdb is missing (make deps)"
	exit 1
fi
tmp=$(mktemp -d)
pid=
gdb_pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$gdb_pid" ] && kill "$gdb_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
PORT=$((20000 + $$ % 20000))
# QEMU's TCG (tests/kvm-in-qemu) checks a nested guest's INT3 against the INTn intercept, not the #BP
# exception intercept KVM_GUESTDBG_USE_SW_BP sets, and arms no DR7 breakpoints loaded by VMRUN: there
# a breakpoint would go to the guest's own handler, so that one case is skipped; it runs on
# hardware-virtualized KVM.
tcg=0
grep -q '^model name.*QEMU TCG CPU' /proc/cpuinfo && tcg=1
if [ $tcg = 0 ]; then
	bp_cmds='thread 2
break *gdb_vtl1_third
continue
printf "bp thread=%d rip=%#lx want=%#lx calls=%d\n", $_thread, $rip, &gdb_vtl1_third, gdb_vtl1_calls
delete'
else
	bp_cmds=
fi
sym() { gdb -batch -nx -ex "printf \"%#lx\\n\", &$1" "$ELF"; }
mark=$(sym gdb_vtl1_mark) done_=$(sym gdb_vtl1_done) secret=$(sym gdb_secret) spin=$(sym gdb_vtl0_spin)
after=$(sym gdb_after_call)
after_byte=$(gdb -batch -nx -ex 'printf "%02x\n", *(unsigned char *)&gdb_after_call' "$ELF")

# check NAME EXPECTED-FILE ACTUAL-FILE: the lines must be exactly these.
check() {
	if diff -u "$2" "$3" >"$tmp/diff"; then
		echo "ok $1"
	else
		echo "FAIL $1"
		sed 's/^/    /' "$tmp/diff" | head -40
	fi
}

"$KVSM" run --vtls 2 --gdb "$PORT" "$ELF" -- gdb=1 >"$tmp/guest" 2>"$tmp/stderr" &
pid=$!
for _ in $(seq 600); do
	[ -s "$tmp/stderr" ] && break
	sleep 0.1
done

# Listening on 127.0.0.1 only (IPv4 loopback, no IPv6 socket), and saying so in one line.
hexport=$(printf '%04X' "$PORT")
{
	head -1 "$tmp/stderr"
	awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print "tcp listen " $2 }' /proc/net/tcp
	awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print "tcp6 listen " $2 }' /proc/net/tcp6 2>/dev/null
} >"$tmp/listen"
printf '%s\n' "kvsm: waiting for gdb on 127.0.0.1:$PORT (target remote 127.0.0.1:$PORT)" \
	"tcp listen 0100007F:$hexport" >"$tmp/listen.want"
check gdb-listen "$tmp/listen.want" "$tmp/listen"

cat >"$tmp/cmds" <<EOF
set pagination off
set confirm off
set width 0
target remote 127.0.0.1:$PORT
continue
info threads
printf "stop1 thread=%d\n", \$_thread
printf "vtl1 rip=%#lx mark=%#lx\n", \$rip, &gdb_vtl1_mark
printf "vtl1 r13=%#lx\n", \$r13
printf "vtl1 fs_base=%#lx\n", \$fs_base
printf "vtl1 secret=%#lx\n", *(unsigned long *)&gdb_secret
thread 1
printf "vtl0 rip=%#lx thunk_ret=%#lx\n", \$rip, (unsigned long)hv_hypercall_page + 0x1a
printf "vtl0 r13=%#lx\n", \$r13
printf "vtl0 fs_base=%#lx\n", \$fs_base
python
try:
    print("vtl0 secret=%#x" % int(gdb.parse_and_eval("*(unsigned long *)&gdb_secret")))
except gdb.MemoryError as e:
    print("vtl0 secret: %s" % e)
end
shell bash -c 'exec 3<>/dev/tcp/127.0.0.1/$PORT' 2>/dev/null && echo "second debugger: accepted" >$tmp/second || echo "second debugger: refused" >$tmp/second
maint packet m${secret#0x},8
maint packet mzz
maint packet m${secret#0x}
maint packet Z0,zz
maint packet Hg99
maint packet qThreadExtraInfo,1
maint packet qThreadExtraInfo,2
maint packet qThreadExtraInfo,3
maint packet p999
maint packet vCont;x
maint packet Z0,${after#0x},1
maint packet m${after#0x},1
maint packet z0,${after#0x},1
maint packet m${after#0x},1
maint packet Z0,${secret#0x},1
thread 2
set \$pc = (unsigned long)&gdb_vtl1_done
printf "vtl1 moved rip=%#lx done=%#lx\n", \$rip, &gdb_vtl1_done
continue
printf "stop2 thread=%d rip=%#lx spin=%#lx\n", \$_thread, \$rip, &gdb_vtl0_spin
set \$pc = (unsigned long)&gdb_call_insn
stepi
printf "step1 thread=%d at thunk+%#lx\n", \$_thread, \$rip - (unsigned long)hv_hypercall_page
stepi
printf "step2 thread=%d at thunk+%#lx\n", \$_thread, \$rip - (unsigned long)hv_hypercall_page
stepi
printf "step3 thread=%d at thunk+%#lx\n", \$_thread, \$rip - (unsigned long)hv_hypercall_page
stepi
printf "step4 thread=%d at thunk+%#lx calls=%d\n", \$_thread, \$rip - (unsigned long)hv_hypercall_page, gdb_vtl1_calls
stepi
printf "step5 thread=%d at thunk+%#lx calls=%d\n", \$_thread, \$rip - (unsigned long)hv_hypercall_page, gdb_vtl1_calls
stepi
printf "step6 thread=%d rip=%#lx after=%#lx\n", \$_thread, \$rip, &gdb_after_call
$bp_cmds
detach
EOF
# Ctrl-C (SIGINT to gdb, which sends 0x03) once each VTL says it waits in its one-instruction loop.
gdb -batch -nx -x "$tmp/cmds" "$ELF" >"$tmp/gdb" 2>&1 &
gdb_pid=$!
for line in "gdb: vtl1 waits" "gdb: vtl0 waits"; do
	for _ in $(seq 600); do
		grep -qx "$line" "$tmp/guest" && break
		sleep 0.5
	done
	sleep 1
	kill -INT "$gdb_pid" 2>/dev/null
done
timeout "$TIMEOUT" tail --pid="$gdb_pid" -f /dev/null || kill -9 "$gdb_pid"
wait "$gdb_pid"
gdb_rc=$?
gdb_pid=
timeout 120 tail --pid="$pid" -f /dev/null || kill -9 "$pid"
wait "$pid"
rc=$?
pid=

# The stop in VTL1 code: thread 2 is (vp0, vtl1), at the symbol, with VTL1's own registers; RIP written.
{
	grep -o 'Thread [0-9]* (vp[0-9]* vtl[0-9]*)' "$tmp/gdb"
	grep -E '^(stop1|vtl1) ' "$tmp/gdb"
} >"$tmp/vtl1"
printf '%s\n' "Thread 1 (vp0 vtl0)" "Thread 2 (vp0 vtl1)" "stop1 thread=2" "vtl1 rip=$mark mark=$mark" \
	"vtl1 r13=0x5ec0de0013" "vtl1 fs_base=0xf1f1f000" "vtl1 secret=0x5ec2e75ec2e75ec2" \
	"vtl1 moved rip=$done_ done=$done_" >"$tmp/vtl1.want"
check gdb-vtl1-stop "$tmp/vtl1.want" "$tmp/vtl1"

# VTL0 at the same stop: RIP past its VTL call's out, R13 shared (VTL1's value), its own FS base.
thunk_ret=$(grep -o 'thunk_ret=0x[0-9a-f]*' "$tmp/gdb" | head -1 | cut -d= -f2)
grep -E '^vtl0 (rip|r13|fs_base)=' "$tmp/gdb" >"$tmp/vtl0"
printf '%s\n' "vtl0 rip=$thunk_ret thunk_ret=$thunk_ret" "vtl0 r13=0x5ec0de0013" "vtl0 fs_base=0xf0f0f000" \
	>"$tmp/vtl0.want"
[ -n "$thunk_ret" ] && [ "$thunk_ret" != 0x1a ] || echo "vtl0: no hypercall page address" >>"$tmp/vtl0"
check gdb-vtl-registers "$tmp/vtl0.want" "$tmp/vtl0"

# The page VTL1 took away: VTL0's thread cannot read it (VTL1's could, above).
grep -E '^vtl0 secret' "$tmp/gdb" >"$tmp/denied"
echo "vtl0 secret: Cannot access memory at address $secret" >"$tmp/denied.want"
check gdb-vtl0-denied "$tmp/denied.want" "$tmp/denied"

# From VTL0's wait loop, stepi from the call into the thunk: mov, mov, nop, out; the out's step
# lands after the VTL call, VTL1 having run (calls 1 -> 2), still in thread 1 (vp0 vtl0); then ret.
grep -E '^(stop2|step[0-9]) ' "$tmp/gdb" >"$tmp/step"
printf '%s\n' "stop2 thread=1 rip=$spin spin=$spin" "step1 thread=1 at thunk+0xf" "step2 thread=1 at thunk+0x12" \
	"step3 thread=1 at thunk+0x17" "step4 thread=1 at thunk+0x18 calls=1" "step5 thread=1 at thunk+0x1a calls=2" \
	"step6 thread=1 rip=$after after=$after" >"$tmp/step.want"
check gdb-step-vtl-call "$tmp/step.want" "$tmp/step"

# Raw packets: VTL0's view refuses the protected page (EFAULT), malformed ones get E01, unknown threads
# too; a software breakpoint is an int3 in VTL0's view, its byte restored, and none in VTL1's page.
grep -E '^received: ' "$tmp/gdb" >"$tmp/packets"
printf 'received: "%s"\n' E0e E01 E01 E01 E01 "$(printf 'vp0 vtl0' | od -An -tx1 | tr -d ' \n')" \
	"$(printf 'vp0 vtl1' | od -An -tx1 | tr -d ' \n')" E01 E01 E01 OK cc OK "$after_byte" E0e >"$tmp/packets.want"
check gdb-packets "$tmp/packets.want" "$tmp/packets"

# The breakpoint in VTL1 code (an int3 in RAM both VTLs execute) stops VTL1, thread 2, before its
# third call counts.
if [ $tcg = 0 ]; then
	grep -E '^bp ' "$tmp/gdb" >"$tmp/bp"
	bp=$(sym gdb_vtl1_third)
	echo "bp thread=2 rip=$bp want=$bp calls=2" >"$tmp/bp.want"
	check gdb-vtl1-breakpoint "$tmp/bp.want" "$tmp/bp"
else
	echo "skip gdb-vtl1-breakpoint: QEMU TCG's nested SVM does not intercept INT3 as #BP (needs hardware KVM)"
fi

echo "second debugger: refused" >"$tmp/second.want"
[ -f "$tmp/second" ] || echo "no second-debugger result" >"$tmp/second"
check gdb-one-debugger "$tmp/second.want" "$tmp/second"

# Detached, the guest runs to its end: status 1 (debug-exit 0) and all its checks passed.
{
	echo "gdb exit $gdb_rc, kvsm exit $rc"
	grep '^checks: ' "$tmp/guest"
} >"$tmp/end"
printf '%s\n' "gdb exit 0, kvsm exit 1" "checks: 7 passed, 0 failed" >"$tmp/end.want"
check gdb-guest-completes "$tmp/end.want" "$tmp/end"
if ! diff -q "$tmp/end.want" "$tmp/end" >/dev/null; then
	sed 's/^/    gdb: /' "$tmp/gdb" | tail -40
	sed 's/^/    kvsm: /' "$tmp/stderr" | tail -10
fi
