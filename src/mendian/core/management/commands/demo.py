from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, seed the demo chain (idempotent) and serve everything."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=1)
        host = "localhost" if opts["host"] in ("127.0.0.1", "0.0.0.0") else opts["host"]  # noqa: S104
        call_command("seed_demo", base_url=f"http://{host}:{opts['port']}")
        call_command("serve", host=opts["host"], port=opts["port"])
