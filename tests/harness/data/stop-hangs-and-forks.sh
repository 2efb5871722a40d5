#!/bin/sh
# ocf-agent.sh with one lie: stop-hangs-and-forks
LIE=stop-hangs-and-forks . "$(dirname "$0")/ocf-agent.sh"
