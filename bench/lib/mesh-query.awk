# Answers one question about a mesh_probe event log ("T SLOT up|down|sees LIST"): the first
# time T >= since at which the condition holds (state carried over from earlier events).
# Lines that are not events (the start line, the VM's own reports) are skipped.
# Prints T and exits 0, or exits 1 when the log does not show it (yet).
#   -v q=mesh   -v set="0 1 2"        every slot in set is up and sees exactly the others
#   -v q=listed -v set="0 1 2" -v x=2 x is up and every other slot in set sees x
#   -v q=down   -v set="0 1 2"        no slot in set is up
#   -v q=up     -v x=2                x is up: the probe reached it, or some node lists it
#   -v since=MS
function holds(   i, j, n, want, s, k, pair) {
    if (q == "up") {
        if (up[x]) return 1
        for (k in seen) { split(k, pair, SUBSEP); if (pair[2] == x) return 1 }
        return 0
    }
    if (q == "down") {
        for (i = 1; i <= nset; i++) if (up[members[i]]) return 0
        return 1
    }
    if (q == "listed") {
        if (!up[x]) return 0
        for (i = 1; i <= nset; i++) {
            if (members[i] == x) continue
            if (!((members[i] SUBSEP x) in seen)) return 0
        }
        return 1
    }
    for (i = 1; i <= nset; i++) {
        s = members[i]
        if (!up[s]) return 0
        want = ""
        for (j = 1; j <= nset; j++)
            if (members[j] != s) want = want (want == "" ? "" : ",") members[j]
        if (want == "") want = "-"
        if (sees[s] != want) return 0
    }
    return 1
}
function apply(slot, kind, arg,   list, n, i) {
    if (kind == "down") { up[slot] = 0; arg = "-" }
    else up[slot] = 1
    if (kind == "down" || kind == "sees") {
        # Only this slot's previous list leaves seen: linear in the cluster, not quadratic.
        n = split(sees[slot], list, ",")
        for (i = 1; i <= n; i++) delete seen[slot, list[i]]
        sees[slot] = arg
        n = split(arg, list, ",")
        for (i = 1; i <= n; i++) if (list[i] != "-") seen[slot, list[i]] = 1
    }
}
BEGIN { nset = split(set, members, " "); checked = 0 }
$1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ { next }   # the probe's start line, VM reports
{
    if (!checked && $1 >= since) {
        checked = 1
        if (holds()) { print since; found = 1; exit 0 }
    }
    apply($2, $3, $4)
    if ($1 >= since && holds()) { print $1; found = 1; exit 0 }
}
END {
    if (found) exit 0
    if (!checked && holds()) { print since; exit 0 }
    exit 1
}
