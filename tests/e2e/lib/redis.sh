# A redis-server of a test's own (bash; source lib/common.sh first): on a
# loopback port, with its own data folder, nothing saved to disk, so that
# stopping and starting it again is an outage and a recovery.
#
# redis_start DIR PORT: starts it (again) on 127.0.0.1:PORT with DIR/redis as
# data folder and DIR/redis.log as log; sets REDIS_PID.  redis_stop: stops it.
REDIS_PID=""
redis_start() {
    mkdir -p "$1/redis"
    redis-server --port "$2" --bind 127.0.0.1 --dir "$1/redis" --save "" --appendonly no \
        --daemonize no --protected-mode no >>"$1/redis.log" 2>&1 &
    REDIS_PID=$!
    e2e_wait_port 127.0.0.1 "$2" 20 || e2e_hard_error "redis-server did not open port $2"
}
redis_stop() {
    e2e_stop_pid "$REDIS_PID"
    REDIS_PID=""
}
