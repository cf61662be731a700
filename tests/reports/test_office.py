"""The .docx and the .xlsx open in LibreOffice: headless conversion to PDF succeeds and the PDF holds
the text. Needs ``scripts/setup --office`` (scripts/test passes it); under CI a missing LibreOffice
fails instead of skipping."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date

import pytest

from dixian.core.audit import Actor
from dixian.reports import services

from testdata import XIYANG

pytestmark = [pytest.mark.office, pytest.mark.django_db]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} missing under CI: scripts/setup --office installs it")
        pytest.skip(f"{tool} not installed (scripts/setup --office)")
    return path


def test_docx_and_xlsx_convert_to_pdf(demo, tmp_path):
    soffice = _need("soffice")
    as_of, since = date(2026, 10, 31), date(2026, 1, 1)
    b = services.generate_briefing(actor=Actor.cli(), region_code=XIYANG, as_of=as_of, since=since)
    (tmp_path / "briefing.docx").write_bytes(b.docx)
    services.export_tables(
        actor=Actor.cli(), region_code=XIYANG, as_of=as_of, since=since, out=tmp_path / "t.xlsx"
    )
    profile = tmp_path / "lo-profile"  # its own profile: no clash with another LibreOffice running
    proc = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            str(tmp_path / "briefing.docx"),
            str(tmp_path / "t.xlsx"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("briefing.pdf", "t.pdf"):
        pdf = tmp_path / "pdf" / name
        assert pdf.is_file() and pdf.stat().st_size > 5000, name
        assert pdf.read_bytes().startswith(b"%PDF")
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run(
            [pdftotext, str(tmp_path / "pdf" / "briefing.pdf"), "-"], capture_output=True, text=True
        ).stdout
        assert "防返贫动态监测" in text and "累计纳入监测对象" in text
        text = subprocess.run(
            [pdftotext, str(tmp_path / "pdf" / "t.pdf"), "-"], capture_output=True, text=True
        ).stdout
        assert "合计" in text and "乐平镇" in text
