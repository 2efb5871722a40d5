#!/bin/sh
# ocf-agent.sh with one lie: monitor-always-running
LIE=monitor-always-running . "$(dirname "$0")/ocf-agent.sh"
