"""Notebook helpers (_repr_html_, to_pandas, sample, progress) and the example
notebook bindings/python/examples/explore.ipynb, executed end to end."""
import os

import pytest

from conftest import REPO, child_env

NOTEBOOK = os.path.join(REPO, "bindings", "python", "examples", "explore.ipynb")


def test_repr_html_escapes_and_truncates(db):
    db[b"<script>alert(1)</script>"] = b"x" * 500
    db[b"\xff\xfe binary"] = b"<b>&amp;</b>"
    html = db._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "500 bytes" in html
    assert "records" in html and db.path in html
    db.close()
    assert "closed" in db._repr_html_()


def test_repr_html_empty(db):
    assert "empty" in db._repr_html_()


def test_sample(db):
    db.update({b"k%d" % i: b"v%d" % i for i in range(100)})
    s = db.sample(5)
    assert len(s) == 5 and all(db[k] == v for k, v in s)
    s = db.sample(7, exact=True)
    assert len(s) == 7 and len(set(s)) == 7
    assert db.sample(0) == []
    assert len(db.sample(1000)) == 100
    with pytest.raises(ValueError):
        db.sample(-1)


def test_to_pandas(db):
    pd = pytest.importorskip("pandas")
    db.update({b"a": b'{"x": 1}', b"b": b'{"x": 2}'})
    df = db.to_pandas()
    assert list(df.columns) == ["key", "value"] and len(df) == 2
    assert set(df["key"]) == {b"a", b"b"}
    df = db.to_pandas(key_decode="utf-8", value_decode="json")
    assert sorted(v["x"] for v in df["value"]) == [1, 2]
    df = db.to_pandas(limit=1, decode="utf-8")
    assert len(df) == 1 and isinstance(df["key"][0], str)
    df = db.to_pandas(value_decode=len)
    assert sorted(df["value"]) == [8, 8]
    with pytest.raises(LookupError):
        db.to_pandas(decode="no-such-codec")
    with pytest.raises(TypeError):
        db.to_pandas(decode=5)
    assert isinstance(df, pd.DataFrame)


def test_progress_callable_and_silence(db):
    db.update({b"k%d" % i: b"v" for i in range(300)})
    seen = []
    db.backup(db.path + ".bak", progress=lambda d, t: seen.append((d, t)))
    db.check(progress=None)   # not interactive under pytest: silent
    db.check(progress=False)


def test_example_notebook_runs(tmp_path, monkeypatch):
    import json
    import sys

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # A kernelspec of our own that runs this very interpreter, found first via
    # JUPYTER_PATH, so a kernel registered elsewhere for another Python is
    # never picked; and the kernel imports the same cellardb as this run.
    spec_dir = tmp_path / "jupyter" / "kernels" / "cellardb-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "cellardb test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="cellardb-test",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = {i: c.get("outputs", []) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    html = [o for outs in outputs.values() for o in outs
            if o.get("output_type") == "execute_result" and "text/html" in o.get("data", {})]
    assert any("cellardb.Database" in o["data"]["text/html"] for o in html)
    errors = [o for outs in outputs.values() for o in outs if o.get("output_type") == "error"]
    assert not errors
    # The TTL cell: the key expired once the ManualClock moved past its TTL.
    texts = [o["data"].get("text/plain", "") for outs in outputs.values() for o in outs
             if o.get("output_type") == "execute_result"]
    assert "(30.0, False)" in texts
