"""Notebook and data-exploration helpers for cellardb.Database.

Nothing here moves data itself: sampling, DataFrames and bulk import read and
write through the native iterators and batch calls. pandas and tqdm are
optional: to_pandas needs pandas; progress bars appear only when tqdm is
installed (silent otherwise).
"""
import contextlib
import html
import itertools
import json
import random
import sys

__all__ = ["repr_html", "sample", "to_pandas", "progress_callback", "bulk_import"]

#: How much of a key or value the HTML repr shows.
PREVIEW_BYTES = 60


def _preview(data, limit=PREVIEW_BYTES):
    """A short, safe text for bytes: UTF-8 text when it decodes, else a bytes repr."""
    cut = data[:limit]
    try:
        text = repr(cut.decode("utf-8"))
    except UnicodeDecodeError:
        text = repr(cut)
    if len(data) > limit:
        text += f" … ({len(data)} bytes)"
    return text


def _human(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def sample(db, n=5, *, exact=False):
    """Return up to n (key, value) pairs.

    By default the first n records in iteration order: keys are ordered by a
    hash seeded per file, so this is an arbitrary spread of the data, and it
    costs O(n). exact=True draws a uniform random sample (reservoir sampling)
    over every record, which reads the whole database.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    it = db.iteritems()
    try:
        if not exact:
            return list(itertools.islice(it, n))
        reservoir = []
        for i, pair in enumerate(it):
            if i < n:
                reservoir.append(pair)
            else:
                j = random.randrange(i + 1)
                if j < n:
                    reservoir[j] = pair
        return reservoir
    finally:
        it.close()


def repr_html(db):
    """The HTML shown for a Database in Jupyter: path, counts, sizes, a sample."""
    esc = html.escape
    title = f"<b>cellardb.Database</b> <code>{esc(str(db.path))}</code>"
    if db.closed:
        return f"<div>{title} (closed)</div>"
    try:
        st = db.stats()
        pairs = sample(db, 5)
    except Exception as exc:  # a repr must never raise
        return f"<div>{title}: {esc(type(exc).__name__)}: {esc(str(exc))}</div>"
    ratio = st.get("cache_hit_ratio")
    rows = [
        ("flag", db.flag + (" (read-only)" if db.readonly else "")),
        ("records", f"{st['records']:,}"),
        ("file size", _human(st["file_size"])),
        ("page size", _human(st["page_size"])),
        ("cache", f"{_human(st['cache_used'])} of {_human(st['cache_capacity'])}, hit ratio "
                  + ("n/a" if ratio is None else f"{ratio:.1%}")),
        ("log", _human(st["wal_size"])),
    ]
    info = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(v)}</td></tr>"
                   for k, v in rows)
    if pairs:
        body = "".join(f"<tr><td><code>{esc(_preview(k))}</code></td>"
                       f"<td><code>{esc(_preview(v))}</code></td></tr>" for k, v in pairs)
        more = "" if st["records"] <= len(pairs) else f"<div>… {st['records'] - len(pairs):,} more</div>"
        sample_html = ("<table><thead><tr><th>key</th><th>value</th></tr></thead>"
                       f"<tbody>{body}</tbody></table>{more}")
    else:
        sample_html = "<div><i>empty</i></div>"
    return f"<div>{title}<table>{info}</table>{sample_html}</div>"


def _decoder(spec, what):
    if spec is None or spec == "bytes":
        return None
    if spec == "json":
        return lambda b: json.loads(b.decode("utf-8"))
    if callable(spec):
        return spec
    if isinstance(spec, str):
        import codecs

        codecs.lookup(spec)  # LookupError for an unknown codec, now rather than later
        return lambda b: b.decode(spec)
    raise TypeError(f"{what} must be None, 'json', a codec name or a callable")


def to_pandas(db, limit=None, *, decode=None, key_decode=None, value_decode=None):
    """A pandas DataFrame with columns "key" and "value" (needs pandas).

    limit: at most this many records (None: all).
    decode: how to turn bytes into Python objects, for keys and values alike:
        None (keep bytes), a codec name such as 'utf-8', 'json' (UTF-8 JSON)
        or a callable(bytes). key_decode / value_decode override it per column.
    """
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_pandas needs pandas: pip install pandas") from exc
    kdec = _decoder(key_decode if key_decode is not None else decode, "key_decode")
    vdec = _decoder(value_decode if value_decode is not None else decode, "value_decode")
    keys, values = [], []
    it = db.iteritems()
    try:
        for k, v in itertools.islice(it, limit):
            keys.append(kdec(k) if kdec else k)
            values.append(vdec(v) if vdec else v)
    finally:
        it.close()
    return pd.DataFrame({"key": keys, "value": values})


def _interactive():
    """True in a Jupyter/IPython kernel or when stderr is a terminal."""
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _tqdm():
    try:
        if "ipykernel" in sys.modules:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        return tqdm
    except ImportError:
        return None


@contextlib.contextmanager
def progress_callback(progress, desc):
    """Turn a progress= argument into a callable(done, total) or None.

    None: a tqdm bar if tqdm is installed and the session is interactive;
    True: a tqdm bar if tqdm is installed; False: nothing; a callable: itself.
    """
    if progress is False or (progress is None and not _interactive()):
        yield None
        return
    if callable(progress):
        yield progress
        return
    if progress is not None and progress is not True:
        raise TypeError("progress must be None, True, False or a callable(done, total)")
    tqdm = _tqdm()
    if tqdm is None:
        yield None
        return
    bar = tqdm(desc=desc, total=None, leave=False)
    try:
        def update(done, total):
            if total and bar.total != total:
                bar.total = total
            bar.n = done
            bar.refresh()
            return False

        yield update
    finally:
        bar.close()


def bulk_import(db, items, *, batch_size=10000, progress=None, total=None):
    """Store pairs batch_size at a time through put_many; see Database.bulk_import."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if hasattr(items, "keys"):
        if total is None:
            total = len(items)
        pairs = ((k, items[k]) for k in items.keys())
    else:
        if total is None and hasattr(items, "__len__"):
            total = len(items)
        pairs = iter(items)
    done = 0
    with progress_callback(progress, "import") as cb:
        while True:
            batch = list(itertools.islice(pairs, batch_size))
            if not batch:
                break
            db.put_many(batch)
            done += len(batch)
            if cb is not None and cb(done, total or 0):
                break
    return done
