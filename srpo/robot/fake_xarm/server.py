"""The fake controller's TCP side: the control port and the three report ports, on the loopback only.

Every loop here is bounded: sockets time out every 0.2 s and each loop checks the server's stop event, and
the server stops itself after `max_lifetime_s`. `FakeXArm` is the Python handle (tests, dry runs);
`serve_fake_xarm` blocks until Ctrl-C or the lifetime ends (`srpo robot fake-xarm`).
"""

import contextlib
import ipaddress
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field

from srpo.errors import UserFacingError
from srpo.robot.fake_xarm import protocol as P
from srpo.robot.fake_xarm.controller import FAULTS, ControllerModel, FakeController

POLL_S = 0.2


@dataclass(frozen=True)
class FakeXArmConfig:
    """Where the fake xArm controller listens and how it behaves."""

    host: str = "127.0.0.1"  # a loopback address (127.x.y.z): the fake never listens on a network interface
    control_port: int = 502  # the SDK's command port (502 needs root: pick e.g. 5020, give the backend the same)
    report_ports: tuple[int, int, int] = (30001, 30002, 30003)  # normal, rich (SDK default), real-time
    # ^ the SDK parses reports only on these numbers; run a second fake on another 127.x address instead
    report_hz: tuple[float, float, float] = (5.0, 5.0, 100.0)  # packets per second on each report port
    max_lifetime_s: float = 3600.0  # the server stops by itself after this long
    fifo_priority: int = 0  # >0: serve under SCHED_FIFO at this priority (root / CAP_SYS_NICE), see serve_fake_xarm
    controller: ControllerModel = field(default_factory=ControllerModel)  # controller behaviour and firmware

    def __post_init__(self):
        try:
            loopback = ipaddress.IPv4Address(self.host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise UserFacingError(f"the fake xArm listens on a loopback address only (127.0.0.1), not {self.host!r}")


class FakeXArm:
    """A running fake controller: `ports` holds the bound ports (0 in the config picks free ones)."""

    def __init__(self, config: FakeXArmConfig = FakeXArmConfig()):
        self.config = config
        self.controller = FakeController(config.controller)
        self._stop = threading.Event()
        self._down_until = 0.0
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.ports: dict[str, int] = {}
        self._started = time.monotonic()

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> "FakeXArm":
        c = self.config
        self._started = time.monotonic()
        names = ("control", "normal", "rich", "real")
        for name, port in zip(names, (c.control_port, *c.report_ports), strict=True):
            try:
                listener = self._listen(port)
            except OSError as err:
                self.stop()
                raise UserFacingError(f"fake xArm cannot listen on {c.host}:{port} ({err}); ports below 1024 "
                                      "need root: choose --control-port 5020 and give the backend the same "
                                      "port (--xarm-control-port 5020)") from err
            self.ports[name] = listener.getsockname()[1]
            if name == "control":
                serve = self._serve_control
            else:
                hz = c.report_hz[names.index(name) - 1]
                pack = {"normal": P.normal_report, "rich": P.rich_report, "real": P.real_report}[name]
                serve = lambda conn, pack=pack, hz=hz: self._serve_report(conn, pack, hz)  # noqa: E731
            self._spawn(self._accept, listener, serve)
        self._spawn(self.controller.run, self._stop)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._close_clients()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)

    def __enter__(self) -> "FakeXArm":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

    # --- faults -----------------------------------------------------------------------------------------------
    def inject(self, fault: str, down_s: float = 1.0) -> None:
        """'collision' (C31), 'joint_limit' (C23), 'kinematic' (C21), or 'drop': cut every connection and
        refuse new ones for `down_s` seconds (a pulled cable)."""
        if fault == "drop":
            self._down_until = time.monotonic() + down_s
            self._close_clients()
        elif fault in FAULTS:
            self.controller.inject(fault)
        else:
            raise UserFacingError(f"unknown fault {fault!r}; choose drop or one of {sorted(FAULTS)}")

    # --- sockets ------------------------------------------------------------------------------------------------
    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"fake-xarm-{target.__name__}")
        self._threads.append(thread)
        thread.start()

    def _alive(self) -> bool:
        if time.monotonic() - self._started > self.config.max_lifetime_s:
            self._stop.set()
        return not self._stop.is_set()

    def _close_clients(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, set()
        for conn in clients:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _listen(self, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host, port))
        except OSError:
            sock.close()
            raise
        sock.listen(4)
        sock.settimeout(POLL_S)
        return sock

    def _accept(self, listener: socket.socket | None, serve) -> None:
        """Accept clients; while the connection is 'dropped' the port is closed (connection refused)."""
        port = listener.getsockname()[1]
        try:
            while self._alive():
                if time.monotonic() < self._down_until:
                    if listener is not None:
                        listener.close()
                        listener = None
                    self._stop.wait(POLL_S)
                    continue
                if listener is None:
                    try:
                        listener = self._listen(port)
                    except OSError:
                        self._stop.wait(POLL_S)
                        continue
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    continue
                conn.settimeout(POLL_S)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._clients_lock:
                    self._clients.add(conn)
                threading.Thread(target=self._guard, args=(conn, serve), daemon=True, name="fake-xarm-client").start()
        finally:
            if listener is not None:
                listener.close()

    def _guard(self, conn: socket.socket, serve) -> None:
        try:
            serve(conn)
        except OSError:
            pass  # the client went away or the connection was dropped on purpose
        finally:
            with self._clients_lock:
                self._clients.discard(conn)
            conn.close()

    def _serve_control(self, conn: socket.socket) -> None:
        buffer = b""
        while self._alive():
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                return
            requests, buffer = P.split_frames(buffer + chunk)
            for req in requests:
                if req.register == 0:  # SDK heartbeat
                    continue
                conn.sendall(b"".join(self.controller.handle(req)))

    def _serve_report(self, conn: socket.socket, pack, hz: float) -> None:
        period = 1.0 / hz
        next_send = time.monotonic()
        while self._alive():
            conn.sendall(pack(self.controller.report_state()))
            next_send += period
            self._stop.wait(max(0.0, next_send - time.monotonic()))


def serve_fake_xarm(config: FakeXArmConfig = FakeXArmConfig()) -> int:
    """Run a fake xArm 7 controller (MuJoCo) on 127.0.0.1 for dry runs without the arm; Ctrl-C stops it.

    A real controller answers on hardware of its own. On the recorder's machine the fake shares the cores with a
    loop whose threads run SCHED_FIFO (realtime_section, as root), and a normal-scheduler process waits until
    every FIFO thread sleeps: the servo reply then comes 30-50 ms late. `fifo_priority` (e.g. 45: above the
    recorder's helper threads at 40, below its control thread at 50) gives the fake's threads, which inherit it
    from this one, the same footing a controller of its own has."""
    if config.fifo_priority > 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(config.fifo_priority))
        except (OSError, AttributeError) as err:
            print(f"fake xArm: no SCHED_FIFO ({err}); serving on the normal scheduler", flush=True, file=sys.stderr)
    with FakeXArm(config) as server:
        p = server.ports
        host = config.host
        print(f"fake xArm 7 on {host}: control port {p['control']}, reports {p['normal']}/{p['rich']}/{p['real']}; "
              f"connect with --xarm-ip {host} --xarm-control-port {p['control']}", flush=True)
        try:
            while server.running:
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m srpo.robot.fake_xarm.server [--control-port 5020 ...]` without the srpo CLI."""
    from srpo.configs import parse_config

    return serve_fake_xarm(parse_config(FakeXArmConfig, sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
