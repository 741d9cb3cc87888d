# Reduces `go test -bench -count N` output to one line per benchmark: for every metric
# ("VALUE UNIT" pairs after the iteration count) the median of its N runs. The machine is shared,
# so a single run can be off by half; the median of a few runs is steadier.
#   awk -f scripts/bench-median.awk raw.txt
/^Benchmark/ {
  name = $1
  if (!(name in seen)) { seen[name] = 1; order[++n] = name; iters[name] = $2 }
  runs[name]++
  for (i = 3; i < NF; i += 2) {
    unit = $(i + 1)
    if (!((name, unit) in has)) { has[name, unit] = 1; units[name] = units[name] " " unit }
    vals[name, unit, runs[name]] = $i
  }
  next
}
END {
  for (k = 1; k <= n; k++) {
    name = order[k]; line = name "\t" iters[name]
    split(substr(units[name], 2), us, " ")
    for (u = 1; u in us; u++) {
      m = 0
      for (r = 1; r <= runs[name]; r++) if ((name, us[u], r) in vals) v[++m] = vals[name, us[u], r] + 0
      # insertion sort: a handful of runs
      for (a = 2; a <= m; a++) { x = v[a]; b = a - 1; while (b >= 1 && v[b] > x) { v[b + 1] = v[b]; b-- } v[b + 1] = x }
      med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
      line = line "\t" med "\t" us[u]
      delete v
    }
    print line
  }
}
