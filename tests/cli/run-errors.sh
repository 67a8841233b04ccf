#!/bin/bash
# How build/kvsm fails on bad input: exit status (2 bad input, 4 host problem; src/util.h),
# exactly one "kvsm: ..." line on stderr, nothing on stdout, no crash.
# Prints "ok NAME", "FAIL NAME: details" or "skip NAME: reason" per case.
set -u
cd "$(dirname "$0")/../.."
KVSM=$PWD/build/kvsm
MKKERNEL=$PWD/build/tests/cli/mkkernel
NOBODY=65534

if [ ! -x "$KVSM" ] || [ ! -x "$MKKERNEL" ]; then
	echo "FAIL run-errors: $KVSM or $MKKERNEL missing (make all unit)"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"			# the setpriv cases run as another user
k=$tmp/k
mkdir "$k" "$tmp/out"
chmod 755 "$k"
if ! "$MKKERNEL" "$k"; then
	echo "FAIL run-errors: mkkernel failed"
	exit 1
fi
: >"$k/empty"
chmod 644 "$k"/*
OUT=$tmp/out/stdout
ERR=$tmp/out/stderr

have_kvm=false
[ -c /dev/kvm ] && have_kvm=true
is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true
have_setpriv=false
command -v setpriv >/dev/null && have_setpriv=true
AS_NOBODY=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)

show() {	# the actual output of a failed case
	sed 's/^/    stdout: /' "$OUT" | head -20
	sed 's/^/    stderr: /' "$ERR" | head -20
}

# expect NAME STATUS TEXT CMD...: CMD exits with STATUS, prints nothing on stdout and
# exactly one line on stderr, which starts with "kvsm: " and contains TEXT.
expect() {
	local name=$1 want=$2 text=$3 st lines why=""
	shift 3
	timeout 60 "$@" >"$OUT" 2>"$ERR"
	st=$?
	lines=$(wc -l <"$ERR")
	[ "$st" -eq "$want" ] || why+="status $st, expected $want; "
	[ -s "$OUT" ] && why+="stdout not empty; "
	[ "$lines" -eq 1 ] || why+="$lines lines on stderr, expected 1; "
	[ "$(head -c 6 "$ERR")" = "kvsm: " ] || why+="stderr does not start with 'kvsm: '; "
	grep -qF -- "$text" "$ERR" || why+="stderr lacks \"$text\"; "
	if [ -z "$why" ]; then
		echo "ok $name"
	else
		echo "FAIL $name: $why"
		show
	fi
}

# expect_usage NAME FIRST_LINE CMD...: status 2, FIRST_LINE then the usage text on stderr.
expect_usage() {
	local name=$1 first=$2 st why=""
	shift 2
	timeout 60 "$@" >"$OUT" 2>"$ERR"
	st=$?
	[ "$st" -eq 2 ] || why+="status $st, expected 2; "
	[ -s "$OUT" ] && why+="stdout not empty; "
	[ "$(head -n 1 "$ERR")" = "$first" ] || why+="first stderr line is not \"$first\"; "
	grep -q '^usage: kvsm run \[--smp N\]' "$ERR" || why+="no usage on stderr; "
	grep -q '^       kvsm info$' "$ERR" || why+="usage lacks 'kvsm info'; "
	if [ -z "$why" ]; then echo "ok $name"; else echo "FAIL $name: $why"; show; fi
}

# expect_run NAME CMD...: a valid kernel boots and exits through debug-exit (status 85), silently.
expect_run() {
	local name=$1 st why=""
	shift
	if ! $have_kvm; then echo "skip $name: no /dev/kvm"; return; fi
	timeout 60 "$@" >"$OUT" 2>"$ERR"
	st=$?
	[ "$st" -eq 85 ] || why+="status $st, expected 85; "
	[ -s "$OUT" ] && why+="stdout not empty; "
	[ -s "$ERR" ] && why+="stderr not empty; "
	if [ -z "$why" ]; then echo "ok $name"; else echo "FAIL $name: $why"; show; fi
}

# ---- command line ----
expect_usage no_arguments "usage: kvsm run [--smp N] [--mem SIZE] [--vtls N] [--policy strict|permissive]" "$KVSM"
expect_usage unknown_command "kvsm: unknown command 'frobnicate'" "$KVSM" frobnicate
"$KVSM" --help >"$OUT" 2>"$ERR"
st=$?
if [ $st -eq 0 ] && [ ! -s "$ERR" ] && grep -q '^usage: kvsm run' "$OUT"; then
	echo "ok help"
else
	echo "FAIL help: status $st, expected 0 with the usage on stdout only"
	show
fi
expect run_without_kernel 2 "kvsm: run: missing KERNEL (see kvsm --help)" "$KVSM" run
expect run_only_options 2 "run: missing KERNEL" "$KVSM" run --smp 2 --trace
expect unknown_option 2 "run: unknown option '--bogus'" "$KVSM" run --bogus "$k/valid-elf64"
expect argument_after_kernel 2 "run: unexpected argument 'extra' after KERNEL (guest arguments go after '--')" \
	"$KVSM" run "$k/valid-elf64" extra
expect info_with_arguments 2 "kvsm: info takes no arguments" "$KVSM" info now

# ---- kernel file ----
expect missing_kernel_file 2 "kvsm: cannot open kernel '$tmp/nonexistent': No such file or directory" \
	"$KVSM" run "$tmp/nonexistent"
expect kernel_is_directory 2 "kvsm: kernel '$k' is not a regular file" "$KVSM" run "$k"
mkfifo "$tmp/fifo"	# opening a FIFO with no writer would block: kvsm must refuse it at once
expect kernel_is_fifo 2 "kvsm: kernel '$tmp/fifo' is not a regular file" "$KVSM" run "$tmp/fifo"
cp "$k/valid-elf64" "$k/mode000"
chmod 000 "$k/mode000"
if ! $is_root; then
	expect unreadable_kernel 2 "kvsm: cannot open kernel '$k/mode000': Permission denied" "$KVSM" run "$k/mode000"
elif $have_setpriv; then
	expect unreadable_kernel 2 "kvsm: cannot open kernel '$k/mode000': Permission denied" \
		"${AS_NOBODY[@]}" "$KVSM" run "$k/mode000"
else
	echo "skip unreadable_kernel: running as root without setpriv"
fi
expect empty_kernel 2 "kvsm: kernel '$k/empty' is empty" "$KVSM" run "$k/empty"
expect not_elf 2 "kvsm: kernel '$k/not-elf': not an ELF or multiboot kernel" "$KVSM" run "$k/not-elf"
expect truncated_elf_header 2 "kvsm: kernel '$k/truncated': truncated ELF64 header" "$KVSM" run "$k/truncated"
expect elf32_without_multiboot 2 "kernel '$k/elf32-no-multiboot': ELF32 kernel has no multiboot header" \
	"$KVSM" run "$k/elf32-no-multiboot"
expect segment_outside_ram 2 "kernel '$k/outside-ram': segment 0x10000000-0x10001000 lies outside guest RAM" \
	"$KVSM" run "$k/outside-ram"
expect segment_outside_ram_boundary 2 "segment 0x10000000-0x10001000 lies outside guest RAM" \
	"$KVSM" run --mem 256M "$k/outside-ram"
expect overlapping_segments 2 "kernel '$k/overlap': segments at 0x100000 and 0x100080 overlap" \
	"$KVSM" run "$k/overlap"
expect boot_area_segment 2 "segment 0x8000-0x9000 overlaps the boot data area 0x1000-0xb000" \
	"$KVSM" run "$k/boot-area"
expect entry_outside_segments 2 "entry point 0x300000 is not inside a loaded segment" "$KVSM" run "$k/bad-entry"

# ---- options ----
expect mem_too_small 2 "run: --mem 1M is outside the supported range 4M..64G" "$KVSM" run --mem 1M "$k/valid-elf64"
expect mem_huge 2 "run: --mem 1T is outside the supported range 4M..64G" "$KVSM" run --mem=1T "$k/valid-elf64"
expect mem_not_4k_multiple 2 "run: --mem 4097K is not a multiple of 4K" "$KVSM" run --mem 4097K "$k/valid-elf64"
expect mem_garbage 2 "run: --mem needs a size such as 256M or 2G, got 'lots'" "$KVSM" run --mem lots "$k/valid-elf64"
host_mib=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
if [ -n "$host_mib" ] && [ $((host_mib + 1)) -le 65536 ]; then
	expect mem_above_host_ram 2 "kvsm: --mem is larger than this host's $host_mib MiB of RAM" \
		"$KVSM" run --mem $((host_mib + 1))M "$k/valid-elf64"
else
	echo "skip mem_above_host_ram: host RAM ($host_mib MiB) is not below the 64G --mem limit"
fi
expect smp_zero 2 "run: --smp needs a vCPU count of at least 1, got '0'" "$KVSM" run --smp 0 "$k/valid-elf64"
expect smp_garbage 2 "run: --smp needs a vCPU count of at least 1, got 'two'" "$KVSM" run --smp=two "$k/valid-elf64"
long=$(printf '%04100d' 0)
expect guest_args_too_long 2 "run: guest command line longer than 4095 bytes" \
	"$KVSM" run "$k/valid-elf64" -- "$long"
longpath=$tmp/$(printf 'p%.0s' $(seq 5000))
expect cmdline_too_long 2 "kvsm: kernel path and guest arguments exceed 8191 bytes" \
	"$KVSM" run "$longpath" -- "${long:0:4000}"

# ---- /dev/kvm ----
if $have_kvm; then
	max=$("$KVSM" info 2>/dev/null | sed -n 's/.*up to \([0-9][0-9]*\) vCPUs.*/\1/p')
	if [ -n "$max" ]; then
		expect smp_above_kvm_max 2 "kvsm: --smp $((max + 1)) exceeds the $max vCPUs this KVM allows" \
			"$KVSM" run --smp $((max + 1)) "$k/valid-elf64"
	else
		echo "FAIL smp_above_kvm_max: no 'up to N vCPUs' in kvsm info output"
	fi

	"$KVSM" info >"$OUT" 2>"$ERR"
	st=$?
	if [ $st -eq 0 ] && [ ! -s "$ERR" ] && grep -Eq '^  KVM_CAP_SYNC_REGS +present +\[required\]' "$OUT"; then
		echo "ok info_lists_capabilities"
	else
		echo "FAIL info_lists_capabilities: status $st, expected 0 and a KVM_CAP_SYNC_REGS line"
		show
	fi
else
	echo "skip smp_above_kvm_max: no /dev/kvm"
	echo "skip info_lists_capabilities: no /dev/kvm"
fi

if $is_root && unshare --mount true 2>/dev/null; then
	# A private mount namespace with an empty /dev.
	expect no_dev_kvm 4 "kvsm: /dev/kvm does not exist" \
		unshare --mount sh -c 'mount -t tmpfs none /dev && exec "$0" run "$1"' "$KVSM" "$k/valid-elf64"
	unshare --mount sh -c 'mount -t tmpfs none /dev && exec "$0" info' "$KVSM" >"$OUT" 2>"$ERR"
	st=$?
	if [ $st -eq 4 ] && [ ! -s "$ERR" ] && grep -qx '/dev/kvm: unavailable (No such file or directory)' "$OUT"; then
		echo "ok info_without_dev_kvm"
	else
		echo "FAIL info_without_dev_kvm: status $st, expected 4 and '/dev/kvm: unavailable (No such file or directory)'"
		show
	fi
else
	echo "skip no_dev_kvm: needs root and unshare --mount"
	echo "skip info_without_dev_kvm: needs root and unshare --mount"
fi

if ! $have_kvm; then
	echo "skip no_permission_dev_kvm: no /dev/kvm"
elif ! $is_root || ! $have_setpriv; then
	echo "skip no_permission_dev_kvm: needs root and setpriv"
elif "${AS_NOBODY[@]}" test -r /dev/kvm -a -w /dev/kvm; then
	echo "skip no_permission_dev_kvm: uid $NOBODY may open /dev/kvm here"
else
	expect no_permission_dev_kvm 4 "kvsm: no permission to open /dev/kvm" \
		"${AS_NOBODY[@]}" "$KVSM" run "$k/valid-elf64"
fi

# ---- the generated valid kernels really are valid (so the failures above are the mutations') ----
expect_run valid_elf64_runs "$KVSM" run "$k/valid-elf64"
expect_run valid_multiboot_elf32_runs "$KVSM" run "$k/valid-mb32"
expect_run valid_multiboot_aout_runs "$KVSM" run "$k/valid-aout"
expect_run outside_ram_kernel_runs_with_512M "$KVSM" run --mem 512M "$k/outside-ram"

# An ELF64 entry point in RAM above 4 GiB: kvsm must either boot it or refuse it up front
# (status 2, one line); accepting it and then failing inside the guest is wrong.
if $have_kvm; then
	timeout 60 "$KVSM" run --mem 5G "$k/high-entry" >"$OUT" 2>"$ERR"
	st=$?
	if [ $st -eq 85 ] && [ ! -s "$OUT" ] && [ ! -s "$ERR" ]; then
		echo "ok high_ram_entry_elf64"
	elif [ $st -eq 2 ] && [ ! -s "$OUT" ] && [ "$(wc -l <"$ERR")" -eq 1 ] && grep -q '^kvsm: kernel .*entry' "$ERR"; then
		echo "ok high_ram_entry_elf64"
	else
		echo "FAIL high_ram_entry_elf64: status $st, expected 85 (boots) or 2 (entry refused)"
		show
	fi
else
	echo "skip high_ram_entry_elf64: no /dev/kvm"
fi
