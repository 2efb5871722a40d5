#!/bin/sh
# ocf-agent.sh with one lie: start-does-nothing
LIE=start-does-nothing . "$(dirname "$0")/ocf-agent.sh"
