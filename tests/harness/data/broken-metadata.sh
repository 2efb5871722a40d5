#!/bin/sh
# ocf-agent.sh with one lie: broken-metadata
LIE=broken-metadata . "$(dirname "$0")/ocf-agent.sh"
