# What the test scripts share for JSON (sourced, not run).
#
#   json_true [JQ_OPTION...] EXPR FILE
#
# EXPR, run by jq -e, is true of the JSON in FILE (the last argument). jq -e
# alone exits 0 on an empty input, so a command that crashed before printing
# anything would pass: here an empty or missing FILE is never true.
json_true() {
    local file=${!#}
    [[ -s $file ]] && jq -e "$@" >/dev/null 2>&1
}
