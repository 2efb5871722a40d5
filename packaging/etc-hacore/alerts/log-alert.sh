#!/bin/sh
# A hacore alert hook: writes each alert as one line to the system journal.
# Configure it in cluster.toml:
#   [[alerts]]
#   name = "log"
#   script = "/etc/hacore/alerts/log-alert.sh"
#   events = ["failover", "service-failed", "fence-failed", "quorum-lost"]
# The event comes as HACORE_ALERT_* variables and as JSON on stdin (ignored here).
cat > /dev/null
logger -t hacore-alert -- "seq=${HACORE_ALERT_SEQ} topic=${HACORE_ALERT_TOPIC}" \
  "service=${HACORE_ALERT_SERVICE:--} node=${HACORE_ALERT_NODE}" \
  "incident=${HACORE_ALERT_INCIDENT:--}: ${HACORE_ALERT_MESSAGE}"
