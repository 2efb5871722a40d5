#!/bin/sh
# ocf-agent.sh with one lie: stop-fails-when-stopped
LIE=stop-fails-when-stopped . "$(dirname "$0")/ocf-agent.sh"
