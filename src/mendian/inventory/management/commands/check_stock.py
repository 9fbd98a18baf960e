"""`mendian check-stock`: every level against its movement ledger. Exit code 1 when any differs."""

from django.core.management.base import BaseCommand, CommandError

from mendian.inventory.selectors import stock_check


class Command(BaseCommand):
    help = (
        "Verify that every stock level equals the sums of its movement ledger and its active "
        "reservations, with 0 <= reserved <= on_hand. Prints each problem; exits 1 when there is any."
    )

    def handle(self, *args, **options):
        problems = stock_check()
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} stock problem(s) found.", returncode=1)
        self.stdout.write("Stock is consistent with the ledger.")
