# Turn man/kvsm.1.md (a small markdown subset: "# name(N) -- what", "## SECTION",
# paragraphs, 4-space indented blocks, "* `term`: text" items) into roff with
# -v out=roff, or with -v out=usage into the C string literal of the SYNOPSIS
# block that `kvsm --help` prints. One source, so the two cannot drift.

# roff treats a backslash, and a leading dot or quote, specially.
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	sub(/^[.']/, "\\\\\\&&", s)
	return s
}
# `code` becomes bold.
function inline(s) {
	s = esc(s)
	while (match(s, /`[^`]*`/))
		s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR" substr(s, RSTART + RLENGTH)
	return s
}
function cstr(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	return "\t\"" s "\\n\""
}

out == "usage" {
	if (/^## /)
		section = substr($0, 4)
	else if (section == "SYNOPSIS" && sub(/^    /, ""))
		print cstr((n++ ? "       " : "usage: ") $0)
	next
}

/^# / {
	name = $2
	sub(/\(.*/, "", name)
	sect = $2
	gsub(/.*\(|\).*/, "", sect)
	what = $0
	sub(/^[^-]*-- /, "", what)
	printf ".TH %s %s\n.SH NAME\n%s \\- %s\n", toupper(name), sect, name, esc(what)
	next
}
/^## / { if (block) print ".fi"; block = 0; print ".SH " substr($0, 4); next }
/^    / {
	if (!block)
		print ".nf"
	block = 1
	print esc(substr($0, 5))
	next
}
block { print ".fi"; block = 0 }
/^\* / {
	s = substr($0, 3)
	i = index(s, ": ")
	print ".TP"
	print inline(substr(s, 1, i - 1))
	print inline(substr(s, i + 2))
	next
}
/^$/ { para = 1; next }
{
	if (para)
		print ".PP"
	para = 0
	print inline($0)
}
END { if (block) print ".fi" }
