from datetime import date

import pytest

from ingestion.clients.ecb import parse_hist_csv
from ingestion.errors import BadPayload


def test_blank_and_na_cells_are_skipped():
    text = "Date,USD,JPY,CYP,\n2026-10-30,1.1172,175.68,N/A,\n2026-10-29,1.1150,,N/A,\n"
    assert list(parse_hist_csv(text)) == [
        (date(2026, 10, 30), "USD", "1.1172"),
        (date(2026, 10, 30), "JPY", "175.68"),
        (date(2026, 10, 29), "USD", "1.1150"),
    ]


def test_a_foreign_file_is_a_bad_payload():
    with pytest.raises(BadPayload, match="expected 'Date'"):
        list(parse_hist_csv("<html>maintenance</html>\n"))
    with pytest.raises(BadPayload, match="line 2"):
        list(parse_hist_csv("Date,USD\n30/10/2026,1.1\n"))
