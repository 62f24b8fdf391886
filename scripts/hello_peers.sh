# Sourced by scripts/callgrind.sh and scripts/syscalls.sh: what both need
# to run examples/hello's peer, nginx, the same way.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Whether something listens on 127.0.0.1:PORT, read from /proc (connecting
# to find out would be a connection the server has to serve).
listening() {
    python3 - "$1" <<'PY'
import sys
want = "0100007F:%04X" % int(sys.argv[1])
with open("/proc/net/tcp") as f:
    sys.exit(0 if any(l.split()[1] == want and l.split()[3] == "0A" for l in f.readlines()[1:]) else 1)
PY
}

# nginx_hello DIR PORT: writes DIR/nginx.conf, an nginx that answers like
# examples/hello (`return 200 "Hello, World!"`, text/plain), in one
# process (`master_process off`, so that a tracer attached to it sees the
# loop that serves), no access log, keep-alive without a request limit;
# prints the command that runs it.
nginx_hello() {
    mkdir -p "$1"
    cat > "$1/nginx.conf" <<NGINX
worker_processes 1;
master_process off;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 100000000;
    default_type text/plain;
    client_body_temp_path $1/body;
    server {
        listen 127.0.0.1:$2;
        location = / { return 200 "Hello, World!"; }
    }
}
NGINX
    echo "nginx -p $1 -c $1/nginx.conf -e $1/error.log"
}

# Whether PID is alive and has not exited yet (an exited child stays a
# zombie until it is waited for).
running() {
    [ -r "/proc/$1/status" ] && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"
}

# stop_server PID [FILE]: SIGTERM, then wait for it to exit. nginx without
# a master process misses a SIGTERM that lands between its check of the
# flag and its next epoll_wait (seen under valgrind, which widens the
# window), so the signal is repeated each second, until the process exits
# or, when FILE is given, until FILE (callgrind's profile, written at exit)
# is no longer empty.
stop_server() {
    local tries=0
    kill -TERM "$1" 2>/dev/null || true
    while [ "$tries" -lt 60 ] && running "$1" && { [ -z "${2:-}" ] || [ ! -s "$2" ]; }; do
        sleep 1
        tries=$((tries + 1))
        if running "$1" && { [ -z "${2:-}" ] || [ ! -s "$2" ]; }; then
            kill -TERM "$1" 2>/dev/null || true
        fi
    done
    wait "$1" 2>/dev/null || true
}
