#!/bin/sh
# ocf-agent.sh with one lie: not-required
LIE=not-required . "$(dirname "$0")/ocf-agent.sh"
