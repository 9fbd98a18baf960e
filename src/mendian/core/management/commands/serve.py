"""Web server (granian, WSGI) plus a Celery worker with the beat scheduler, supervised together."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve web + background worker + scheduler."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("MENDIAN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("MENDIAN_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("MENDIAN_WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("MENDIAN_WEB_THREADS", "8")))
        parser.add_argument("--no-worker", action="store_true", help="Serve the web only.")

    def handle(self, *args, **opts):
        call_command("collectstatic", interactive=False, verbosity=0)
        bin_dir = os.path.dirname(sys.executable)
        env = dict(os.environ)
        processes = []
        web = [
            os.path.join(bin_dir, "granian"),
            "--interface",
            "wsgi",
            "--host",
            opts["host"],
            "--port",
            str(opts["port"]),
            "--workers",
            str(opts["workers"]),
            "--blocking-threads",
            str(opts["threads"]),
            "--no-ws",
            "mendian.config.wsgi:application",
        ]
        processes.append(("web", subprocess.Popen(web, env=env)))  # noqa: S603
        if not opts["no_worker"]:
            worker = [
                os.path.join(bin_dir, "celery"),
                "-A",
                "mendian.config.celery",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ]
            processes.append(("worker", subprocess.Popen(worker, env=env)))  # noqa: S603
        host = "localhost" if opts["host"] in ("127.0.0.1", "0.0.0.0") else opts["host"]  # noqa: S104
        base = f"http://{host}:{opts['port']}"
        self.stdout.write(self.style.SUCCESS(f"Mendian is serving on {base}"))
        self.stdout.write(
            f"  Storefront (H5):  {base}/\n  Store console:    {base}/store/\n  HQ console:       {base}/hq/"
        )
        self.stdout.write(f"  API docs:         {base}/api/v1/docs  {base}/api/hq/v1/docs")

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in processes:
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping")
                        stopping = True
                time.sleep(0.5)
        finally:
            for _, proc in processes:
                if proc.poll() is None:
                    proc.terminate()
            for _, proc in processes:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
