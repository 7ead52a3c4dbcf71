"""N ``streamlit run app.py`` processes behind Debian's nginx, on this machine (tests and the load harness).

    with Proxy(processes=2, log_dir=Path("benchmarks/out")) as proxy:
        proxy.url          # nginx, e.g. http://127.0.0.1:8690
        proxy.server_pids  # the Streamlit processes

nginx runs in the foreground as a child of this process (``daemon off``), with its configuration,
pid, logs and temp files in a folder of its own, bound to 127.0.0.1; its configuration is
``deploy/nginx.conf.template`` rendered by ``deploy/render_nginx.py`` (the same file the compose set-up
uses), with ``X-Upstream`` on so a caller can see which process served each visitor.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.load import ROOT, Server, _free_port

NGINX = "/usr/sbin/nginx"


def find_nginx() -> str | None:
    return NGINX if Path(NGINX).is_file() else shutil.which("nginx")


def _renderer():
    spec = importlib.util.spec_from_file_location("render_nginx", ROOT / "deploy" / "render_nginx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class Proxy:
    def __init__(self, processes: int = 2, log_dir: Path | None = None, port: int | None = None,
                 server_ports: list[int] | None = None, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, timeout_s: float = 90) -> None:
        self.processes = processes
        self.log_dir = log_dir or ROOT / "test-artifacts"
        self.port = port or _free_port()
        self.server_ports = server_ports or [None] * processes
        self.extra_args, self.env, self.timeout_s = extra_args, env, timeout_s
        self.url = f"http://127.0.0.1:{self.port}"
        self.servers: list[Server] = []
        self.nginx: subprocess.Popen | None = None
        self._stack = contextlib.ExitStack()
        self.folder: Path | None = None

    @property
    def server_pids(self) -> list[int]:
        return [s.process.pid for s in self.servers if s.process is not None]

    def __enter__(self) -> Proxy:
        nginx = find_nginx()
        if nginx is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        try:
            for i in range(self.processes):
                self.servers.append(self._stack.enter_context(Server(
                    self.log_dir / f"proxy-streamlit-{i + 1}.log", port=self.server_ports[i],
                    extra_args=self.extra_args, env=self.env)))
            self.folder = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="workshop-nginx-")))
            temp = self.folder / "temp"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (temp / name).mkdir(parents=True)
            # nginx's workers drop root for an unprivileged user: they must be able to write the temp files
            for path in (self.folder, temp, *temp.iterdir()):
                path.chmod(0o777 if path != self.folder else 0o755)
            mime = "/etc/nginx/mime.types" if Path("/etc/nginx/mime.types").is_file() else os.devnull
            config = _renderer().render(f"127.0.0.1:{self.port}", [s.url.removeprefix("http://") for s in self.servers],
                                        prefix=str(self.folder), debug_upstream=True, mime_types=mime)
            (self.folder / "nginx.conf").write_text(config)
            log = (self.log_dir / "proxy-nginx.log").open("w")
            self._stack.callback(log.close)
            self.nginx = subprocess.Popen([nginx, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"),
                                           "-e", str(self.folder / "error.log"), "-g", "daemon off;"],
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self._stack.callback(self._stop_nginx)
            self._wait_for_nginx()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _wait_for_nginx(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            if self.nginx is not None and self.nginx.poll() is not None:
                error_log = (self.folder / "error.log").read_text() if self.folder else ""
                raise RuntimeError(f"nginx exited with code {self.nginx.returncode}: {error_log[-500:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not answer within 20 s")
            time.sleep(0.2)

    def _stop_nginx(self) -> None:
        process = self.nginx
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGQUIT)  # graceful: the master stops its workers
            process.wait(timeout=10)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
