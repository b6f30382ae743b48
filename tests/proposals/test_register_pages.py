"""The officer's register page: upload, dry run, all-or-nothing import, the import log;
auditors read the log only; residents and visitors get nothing."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from proposals.models import RegisterEntry, RegisterImport
from tests.conftest import client_for

URL = reverse("proposals:officer_register")
GOOD = b"reference,date_of_birth,area\nR-1,1980-01-02,Area A\nR-2,1981-03-04,Area A\n"
BAD = b"reference,date_of_birth,area\nR-1,1980-01-02,Area A\nR-3,not a date,Nowhere\n"


def upload(client: Client, data: bytes, action: str, name: str = "census.csv"):
    return client.post(
        URL, {"file": SimpleUploadedFile(name, data, "text/csv"), "action": action}, follow=True
    )


def test_officer_checks_then_imports(officer, area_a):
    client = client_for(officer)

    checked = upload(client, GOOD, "check")
    assert checked.status_code == 200
    html = checked.content.decode()
    assert "2 to add, 0 to change, 0 unchanged, 0 refused" in html
    assert "R-1" not in html and "1980" not in html
    assert not RegisterEntry.objects.exists()

    imported = upload(client, GOOD, "import")
    assert "The register was imported: 2 added" in imported.content.decode()
    assert RegisterEntry.objects.count() == 2
    log = client.get(URL).content.decode()
    assert "census.csv" in log and officer.email in log


def test_a_file_with_mistakes_is_reported_row_by_row_and_not_imported(officer, area_a):
    response = upload(client_for(officer), BAD, "import")

    html = response.content.decode()
    assert "Some rows are refused" in html
    assert "Nothing was imported" in html
    assert "not a date" in html
    assert "<caption>Row by row (row 1 is the header)</caption>" in html
    assert not RegisterEntry.objects.exists()
    assert not RegisterImport.objects.exists()


def test_a_file_that_is_not_utf8_is_an_error_on_the_field(officer, area_a):
    response = upload(
        client_for(officer), "reference,postcode,area\nÉ,X1,Area A\n".encode("cp1252"), "check"
    )
    assert "not UTF-8" in response.content.decode()


def test_auditor_reads_the_log_but_cannot_upload(auditor, officer, area_a):
    upload(client_for(officer), GOOD, "import")
    client = client_for(auditor)

    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "census.csv" in html
    assert 'name="file"' not in html and "Generate codes" not in html
    assert upload(client, GOOD.replace(b"R-2", b"R-9"), "import").status_code == 403
    assert RegisterEntry.objects.count() == 2


@pytest.mark.parametrize("persona", ["resident_a", "anonymous"])
def test_residents_and_visitors_get_nothing(persona, request, area_a):
    client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
    page = client.get(URL)
    assert page.status_code == (403 if persona != "anonymous" else 302)
    posted = client.post(URL, {"file": SimpleUploadedFile("x.csv", GOOD), "action": "import"})
    assert posted.status_code in (302, 403)
    assert not RegisterEntry.objects.exists()


def test_an_import_sent_twice_is_applied_once(officer, area_a):
    client = client_for(officer)
    form = client.get(URL).content.decode()
    token = re.search(r'name="submission_token" value="([^"]+)"', form).group(1)
    for _ in range(2):
        client.post(
            URL,
            {
                "file": SimpleUploadedFile("census.csv", GOOD, "text/csv"),
                "action": "import",
                "submission_token": token,
            },
        )
    assert RegisterImport.objects.count() == 1
