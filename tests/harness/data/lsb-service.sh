#!/bin/sh
### BEGIN INIT INFO
# Provides:          lsb-service
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: A sleeping daemon for the harness tests
### END INIT INFO
# Keeps its pid file in $LSB_TEST_DIR. $LSB_LIE picks a lie: status-1-when-stopped,
# stop-fails-when-stopped, or none.
DIR="${LSB_TEST_DIR:?LSB_TEST_DIR is not set}"
PIDFILE="$DIR/daemon.pid"

running() {  # a zombie (not yet reaped by init) does not count
    [ -s "$PIDFILE" ] || return 1
    case "$(ps -o stat= -p "$(cat "$PIDFILE")" 2>/dev/null)" in
        ""|Z*) return 1 ;;
    esac
}

case "$1" in
    start)
        running && exit 0
        setsid sleep 300 </dev/null >/dev/null 2>&1 &
        echo $! >"$PIDFILE"
        exit 0 ;;
    stop)
        if ! running; then
            [ "$LSB_LIE" = stop-fails-when-stopped ] && exit 1
            rm -f "$PIDFILE"; exit 0
        fi
        kill "$(cat "$PIDFILE")"
        i=0
        while running && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
        running && exit 1
        rm -f "$PIDFILE"; exit 0 ;;
    status)
        running && exit 0
        [ "$LSB_LIE" = status-1-when-stopped ] && exit 1
        [ -e "$PIDFILE" ] && exit 1
        exit 3 ;;
    restart|force-reload)
        "$0" stop && "$0" start ;;
    *)
        echo "Usage: $0 {start|stop|status|restart|force-reload}" >&2
        exit 2 ;;
esac
