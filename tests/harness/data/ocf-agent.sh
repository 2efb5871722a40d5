#!/bin/sh
# A small OCF agent for the harness tests. Each lying agent is a two-line script that sets
# LIE and sources this file; with LIE empty it follows the rules. Its one parameter, state,
# is a file that exists while the resource runs.
STATE="$OCF_RESKEY_state"

meta_data() {
    if [ "$LIE" = broken-metadata ]; then
        echo '<resource-agent name="liar"><parameters><parameter name="state">'
        return 0
    fi
    cat <<XML
<?xml version="1.0"?>
<resource-agent name="${0##*/}" version="1.0">
  <version>1.1</version>
  <longdesc lang="en">A test agent whose resource is a state file.</longdesc>
  <shortdesc lang="en">Test agent</shortdesc>
  <parameters>
    <parameter name="state" required="1">
      <longdesc lang="en">File that exists while the resource runs.</longdesc>
      <shortdesc lang="en">State file</shortdesc>
      <content type="string"/>
    </parameter>
  </parameters>
  <actions>
    <action name="start" timeout="10s"/>
    <action name="stop" timeout="10s"/>
    <action name="monitor" timeout="10s" interval="10s" depth="0"/>
    <action name="validate-all" timeout="10s"/>
    <action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
XML
}

validate() {
    [ "$LIE" = not-required ] && return 0
    if [ -z "$STATE" ]; then
        echo "ocf-exit-reason:parameter state is required" >&2
        return 6
    fi
    return 0
}

case "$1" in
    meta-data) meta_data; exit 0 ;;
    validate-all) validate; exit $? ;;
esac
validate || exit $?
[ -n "$STATE" ] || STATE="${TMPDIR:-/tmp}/ocf-agent-$OCF_RESOURCE_INSTANCE.state"

case "$1" in
    start)
        [ "$LIE" = start-does-nothing ] && exit 0
        if [ "$LIE" = leaves-setsid-child ] && [ ! -e "$STATE" ]; then
            setsid sh -c 'echo $$ >"$0.child"; exec sleep 300' "$STATE" </dev/null >/dev/null 2>&1 &
            i=0
            while [ ! -s "$STATE.child" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
        fi
        touch "$STATE"; exit 0 ;;
    stop)
        if [ "$LIE" = stop-hangs-and-forks ]; then
            sleep 300 & echo $! >"$STATE.hung"
            wait
        fi
        if [ "$LIE" = stop-fails-when-stopped ] && [ ! -e "$STATE" ]; then
            echo "ocf-exit-reason:nothing to stop" >&2; exit 1
        fi
        rm -f "$STATE"; exit 0 ;;
    monitor)
        [ "$LIE" = monitor-always-running ] && exit 0
        [ -e "$STATE" ] && exit 0
        exit 7 ;;
    *) exit 3 ;;
esac
