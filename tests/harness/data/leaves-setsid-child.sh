#!/bin/sh
# ocf-agent.sh with one lie: leaves-setsid-child
LIE=leaves-setsid-child . "$(dirname "$0")/ocf-agent.sh"
