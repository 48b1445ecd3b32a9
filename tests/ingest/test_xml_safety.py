"""XML is read without DTDs: no entity expansion, no local file read, nothing fetched.

Every hostile form is refused before a parser could act on it, whatever the
encoding, compression or comments before the DTD; the secret a file points at
appears nowhere (message, store, rejects).
"""

from __future__ import annotations

import gzip
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.errors import KnelpuntError, MalformedFileError, UnsafeInputError
from tests.helpers import store_state

SECRET = "KNELPUNT-SECRET-7f3a"

BODY = """<log>
  <trace><string key="concept:name" value="{case}"/>
    <event><string key="concept:name" value="A"/>
      <date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/></event>
  </trace>
</log>
"""


def _laughs() -> str:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return f"<!DOCTYPE log [{entities}]>"


@pytest.fixture(name="secret_file")
def _secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "geheim.txt"
    path.write_text(SECRET)
    return path


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared by the server's handlers on purpose

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY x "fetched">')

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(name="server")
def _server() -> Iterator[tuple[str, list[str]]]:
    """A web server on loopback that counts the requests it gets."""
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def _forms(doctype: str, case: str) -> dict[str, bytes]:
    """The same hostile XES: plain, after a comment that says <log, in UTF-16, gzipped."""
    body = BODY.format(case=case)
    plain = f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n{body}'
    commented = f'<?xml version="1.0"?>\n<!-- <log -->\n{doctype}\n{body}'
    utf16 = f'<?xml version="1.0" encoding="UTF-16"?>\n{doctype}\n{body}'
    return {
        "plain.xes": plain.encode(),
        "after-comment.xes": commented.encode(),
        "utf16.xes": utf16.encode("utf-16"),
        "packed.xes.gz": gzip.compress(commented.encode()),
    }


def _refuse_everywhere(path: Path) -> str:
    """ingest_log and check_log both refuse ``path``; the store stays as it was."""
    with kp.open_store(":memory:") as store:
        before = store_state(store)
        with pytest.raises(UnsafeInputError) as info:
            kp.ingest_log(store, path)
        assert store_state(store) == before
    with pytest.raises(UnsafeInputError):
        kp.check_log(path)
    return str(info.value)


class TestXes:
    """XES with a DTD in any form."""

    @pytest.mark.parametrize("form", list(_forms("", "c")))
    def test_billion_laughs(self, tmp_path: Path, form: str) -> None:
        """Entity expansion (a billion 'lol's) is refused, not expanded."""
        path = tmp_path / form
        path.write_bytes(_forms(_laughs(), "&lol9;")[form])
        message = _refuse_everywhere(path)
        assert "DTD" in message
        assert "lol" not in message

    @pytest.mark.parametrize("form", list(_forms("", "c")))
    def test_local_file(self, tmp_path: Path, secret_file: Path, form: str) -> None:
        """An external entity naming a local file: refused, the file's content nowhere."""
        doctype = f'<!DOCTYPE log [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        path = tmp_path / form
        path.write_bytes(_forms(doctype, "&x;")[form])
        assert SECRET not in _refuse_everywhere(path)

    @pytest.mark.parametrize("form", list(_forms("", "c")))
    def test_network_dtd(self, tmp_path: Path, server: tuple[str, list[str]], form: str) -> None:
        """An external DTD on a web server: refused, and the server never asked."""
        url, hits = server
        path = tmp_path / form
        path.write_bytes(_forms(f'<!DOCTYPE log SYSTEM "{url}/evil.dtd">', "&x;")[form])
        _refuse_everywhere(path)
        assert hits == []

    def test_upload_in_memory(self, secret_file: Path) -> None:
        """The same through an upload (bytes, not a path)."""
        doctype = f'<!DOCTYPE log [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        data = _forms(doctype, "&x;")["after-comment.xes"]
        with kp.open_store(":memory:") as store, pytest.raises(UnsafeInputError) as info:
            kp.ingest_log(store, io.BytesIO(data), name="upload.xes")
        assert SECRET not in str(info.value)

    def test_plain_logs_still_read(self, tmp_path: Path) -> None:
        """A comment before <log> is fine; UTF-16 (which the XES reader cannot read) is
        named as such."""
        for form, data in _forms("", "c1").items():
            path = tmp_path / form
            path.write_bytes(data)
            with kp.open_store(":memory:") as store:
                if form == "utf16.xes":
                    with pytest.raises(MalformedFileError, match=r"UTF-16.*as UTF-8"):
                        kp.ingest_log(store, path)
                else:
                    assert kp.ingest_log(store, path).added == 1, form


class TestExcel:
    """An Excel workbook whose XML declares entities (Excel never writes them)."""

    @pytest.fixture(name="workbook")
    def _workbook(self, tmp_path: Path) -> Path:
        path = tmp_path / "gewoon.xlsx"
        frame = pd.DataFrame(
            {"case": ["1", "1"], "activity": ["A", "B"], "timestamp": ["2024-01-01", "2024-01-02"]}
        )
        frame.to_excel(path, index=False)
        return path

    def _with_doctype(self, workbook: Path, target: Path, doctype: str, value: str) -> Path:
        with zipfile.ZipFile(workbook) as source:
            parts = {info.filename: source.read(info) for info in source.infolist()}
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        # The DTD before the root; the first case id becomes the entity.
        sheet = sheet.replace("<worksheet", f"{doctype}<worksheet", 1)
        sheet = sheet.replace(
            '<c r="A2" t="inlineStr"><is><t>1</t>', f'<c r="A2" t="inlineStr"><is><t>{value}</t>', 1
        )
        assert value in sheet
        parts["xl/worksheets/sheet1.xml"] = sheet.encode()
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in parts.items():
                out.writestr(name, data)
        return target

    def test_local_file(self, workbook: Path, tmp_path: Path, secret_file: Path) -> None:
        doctype = f'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        path = self._with_doctype(workbook, tmp_path / "xxe.xlsx", doctype, "&x;")
        message = _refuse_everywhere(path)
        assert "xxe.xlsx" in message
        assert SECRET not in message

    def test_billion_laughs(self, workbook: Path, tmp_path: Path) -> None:
        doctype = _laughs().replace("DOCTYPE log", "DOCTYPE worksheet")
        path = self._with_doctype(workbook, tmp_path / "lol.xlsx", doctype, "&lol9;")
        _refuse_everywhere(path)


class TestModels:
    """Process models (BPMN, PNML) with a DTD, also in UTF-16."""

    PNML = """<?xml version="1.0" encoding="{encoding}"?>
{doctype}
<pnml><net id="n" type="http://www.pnml.org/version-2009/grammar/pnmlcoremodel"><page id="p">
<place id="p1"><initialMarking><text>1</text></initialMarking></place><place id="p2"/>
<transition id="t1"><name><text>&x;</text></name></transition>
<arc id="a1" source="p1" target="t1"/><arc id="a2" source="t1" target="p2"/>
</page></net></pnml>"""

    @pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
    def test_local_file(self, tmp_path: Path, secret_file: Path, encoding: str) -> None:
        doctype = f'<!DOCTYPE pnml [<!ENTITY x SYSTEM "file://{secret_file}">]>'
        path = tmp_path / "model.pnml"
        path.write_bytes(self.PNML.format(encoding=encoding, doctype=doctype).encode(encoding))
        with pytest.raises(UnsafeInputError, match="DTD") as info:
            kp.read_model(path)
        assert SECRET not in str(info.value)

    def test_network_dtd(self, tmp_path: Path, server: tuple[str, list[str]]) -> None:
        url, hits = server
        doctype = f'<!DOCTYPE pnml SYSTEM "{url}/evil.dtd">'
        path = tmp_path / "model.pnml"
        path.write_bytes(self.PNML.format(encoding="UTF-16", doctype=doctype).encode("utf-16"))
        with pytest.raises(KnelpuntError):
            kp.read_model(path)
        assert hits == []
