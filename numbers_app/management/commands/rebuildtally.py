from django.core.management.base import BaseCommand

from numbers_app.tally import tally_rebuild


class Command(BaseCommand):
    help = (
        "Recompute NumberTally and NumberFacetCount (the counts behind the numbers list's totals and facets) "
        "from the numbers "
        "themselves, for every account. The triggers keep it exact; this repairs it if it was ever edited "
        "by hand or restored apart from the numbers. Writes to numbers wait until it is done."
    )

    def handle(self, *args, **options):
        wrong = tally_rebuild()
        if wrong:
            noun = "row" if wrong == 1 else "rows"
            self.stdout.write(f"Tally rebuilt: {wrong} {noun} had a wrong count and were corrected.")
        else:
            self.stdout.write("Tally rebuilt: every count was already right.")
