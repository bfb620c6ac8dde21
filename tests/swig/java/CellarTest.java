package cellardb.test;

import cellardb.Cellar;
import cellardb.CellarClock;
import cellardb.CellarDB;
import cellardb.CellarException;
import cellardb.CellarIter;
import cellardb.CellarOptions;
import cellardb.CellarStats;
import cellardb.CellarTxn;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Map.Entry;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The Java binding's tests: a plain main (no JUnit), one line per failure and
 * "N passed, N failed" at the end; the exit status is 1 if anything failed.
 *
 *   java -Dcellardb.jni=.../libcellardb_jni.so -cp cellardb.jar:test-classes \
 *        cellardb.test.CellarTest [SECTION...]
 *
 * Sections: basic errors txn iter lifetime threads hostile recursion closerace
 * spec interop (hostile, recursion and closerace are in HostileTest).
 * CELLAR_SPEC_CASES names the conformance cases' folder; CELLAR_SPEC_ONLY one case.
 */
public final class CellarTest {
  private static int passed;
  private static int failed;
  private static int skipped;
  private static Path tmp;

  // ---- a minimal harness ------------------------------------------------------
  interface Body {
    void run() throws Exception;
  }

  static void check(String name, boolean ok) {
    if (ok) {
      passed++;
    } else {
      failed++;
      System.out.println("FAIL " + name);
    }
  }

  static void eq(String name, Object want, Object got) {
    boolean ok = want instanceof byte[] && got instanceof byte[]
        ? Arrays.equals((byte[]) want, (byte[]) got)
        : want == null ? got == null : want.equals(got);
    if (!ok) {
      failed++;
      System.out.println("FAIL " + name + ": expected " + show(want) + ", got " + show(got));
    } else {
      passed++;
    }
  }

  private static String show(Object o) {
    return o instanceof byte[] ? "bytes" + Arrays.toString((byte[]) o) : String.valueOf(o);
  }

  /** The CellarException name the body throws ("" if none). */
  static String err(Body body) {
    try {
      body.run();
      return "";
    } catch (CellarException e) {
      return e.getName();
    } catch (Exception e) {
      return "OTHER: " + e;
    }
  }

  static void throwsCode(String name, String code, Body body) {
    eq(name, code, err(body));
  }

  private static void section(String name, Body body) {
    try {
      body.run();
    } catch (Throwable t) {
      failed++;
      System.out.println("FAIL section " + name + " died: " + t);
      t.printStackTrace(System.out);
    }
  }

  static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

  static String path(String name) throws IOException {
    return Files.createTempDirectory(tmp, "t").resolve(name).toString();
  }

  // ---- basic --------------------------------------------------------------------
  private static void basic() throws Exception {
    CellarClock clock = new CellarClock(1700000000000L);
    CellarOptions o = new CellarOptions();
    o.setClock(clock);
    String p = path("basic.cellar");
    try (CellarDB db = CellarDB.open(p, o)) {
      eq("path", p, db.path());
      check("open", !db.isClosed());
      check("version", Cellar.version().matches("\\d+\\.\\d+\\.\\d+"));
      db.put(b("alpha"), b("one"));
      eq("get", b("one"), db.get(b("alpha")));
      check("exists", db.exists(b("alpha")));
      check("not exists", !db.exists(b("beta")));
      eq("count", 1L, db.count());
      db.delete(b("alpha"));
      eq("count after delete", 0L, db.count());
      eq("getOrNull of absent", null, db.getOrNull(b("alpha")));

      byte[] all = new byte[256];
      byte[] rev = new byte[256];
      for (int i = 0; i < 256; i++) {
        all[i] = (byte) i;
        rev[255 - i] = (byte) i;
      }
      db.put(all, rev);
      eq("every byte value", rev, db.get(all));
      db.put(new byte[0], new byte[0]);
      check("empty key exists", db.exists(new byte[0]));
      eq("empty value", 0, db.get(new byte[0]).length);
      byte[] big = new byte[1 << 20];
      Arrays.fill(big, (byte) 'x');
      db.put(b("big"), big);
      eq("1 MiB value", big, db.get(b("big")));

      eq("incr absent", 1L, db.incr(b("n")));
      eq("incr delta", 42L, db.incr(b("n"), 41));
      eq("decr delta", 40L, db.decr(b("n"), 2));
      eq("decr", 39L, db.decr(b("n")));
      eq("decimal ascii", b("39"), db.get(b("n")));

      db.put(b("c"), b("old"));
      db.cas(b("c"), b("old"), b("new"));
      eq("cas swaps", b("new"), db.get(b("c")));
      throwsCode("cas mismatch", "CELLAR_EMISMATCH", () -> db.cas(b("c"), b("old"), b("x")));
      db.cas(b("fresh"), null, b("v"));
      eq("cas null expected inserts", b("v"), db.get(b("fresh")));
      db.cas(b("fresh"), b("v"), null);
      check("cas null new deletes", !db.exists(b("fresh")));
      db.cas(b("e"), null, new byte[0]);
      db.cas(b("e"), new byte[0], b("was empty"));
      eq("cas with an empty expected value is not 'absent'", b("was empty"), db.get(b("e")));
      db.insert(b("ins"), b("1"));
      throwsCode("insert if absent", "CELLAR_EMISMATCH", () -> db.insert(b("ins"), b("2")));
      db.deleteIf(b("ins"), b("1"));
      check("deleteIf", !db.exists(b("ins")));

      db.putTtl(b("t"), b("v"), 1000);
      eq("ttl", 1000L, db.ttl(b("t")));
      clock.advance(400);
      eq("ttl follows clock", 600L, db.ttl(b("t")));
      db.persist(b("t"));
      eq("persist", -1L, db.ttl(b("t")));
      db.expire(b("t"), 10);
      clock.advance(10);
      check("expired", !db.exists(b("t")));
      eq("clock now", 1700000000410L, clock.now());

      db.putMany(new byte[][] {b("k1"), b("k2"), b("k3")}, new byte[][] {b("v1"), b("v2"), b("v3")});
      byte[][] got = db.getMany(new byte[][] {b("k1"), b("nope"), b("k3")});
      eq("getMany length", 3, got.length);
      eq("getMany 0", b("v1"), got[0]);
      eq("getMany absent is null", null, got[1]);
      eq("getMany 2", b("v3"), got[2]);
      eq("getMany of nothing", 0, db.getMany(new byte[0][]).length);

      CellarStats st = db.stats();
      check("stats records (expired not yet swept count too)", st.getRecords() >= db.count());
      check("stats page size", st.getPageSize() >= 4096);
      check("stats toString", st.toString().startsWith("CellarStats("));
      st.close();
      db.sync();
      db.checkpoint();
      db.compact();
      eq("check finds nothing", 0, db.check().length);
      String copy = path("copy.cellar");
      db.backup(copy);
      CellarOptions ro = new CellarOptions();
      ro.setReadonly(true);
      try (CellarDB c = CellarDB.open(copy, ro)) {
        eq("backup has k2", b("v2"), c.get(b("k2")));
        eq("backup count", db.count(), c.count());
      }
      String dump = path("dump.txt");
      db.dump(dump);
      try (CellarDB l = CellarDB.open(path("loaded.cellar"))) {
        l.load(dump);
        eq("dump + load is lossless", rev, l.getOrNull(all));
      }
      check("toString", db.toString().startsWith("CellarDB("));
    }
    o.close();

    CellarOptions big = new CellarOptions();
    big.setSync("full");
    big.setPageSize(8192);
    big.setCacheSize(1 << 20);
    big.setLockTimeout(10);
    big.setWalLimit(1 << 20);
    big.setMode(0600);
    try (CellarDB db = new CellarDB(path("opts.cellar"), big)) {
      db.put(b("a"), b("b"));
      try (CellarStats st = db.stats()) {
        eq("page size option", 8192L, st.getPageSize());
      }
    }
  }

  // ---- errors ---------------------------------------------------------------------
  private static void errors() throws Exception {
    String p = path("err.cellar");
    CellarDB db = CellarDB.open(p);
    try {
      db.get(b("missing"));
      check("get of absent throws", false);
    } catch (CellarException e) {
      eq("code", Cellar.ENOTFOUND, e.getCode());
      eq("code value", -1, e.getCode());
      eq("name", "CELLAR_ENOTFOUND", e.getName());
      check("isNotFound", e.isNotFound());
      check("message", e.getMessage().contains("key not found") && e.getMessage().contains("CELLAR_ENOTFOUND"));
    }
    eq("errname", "CELLAR_ECONFLICT", Cellar.errname(Cellar.ECONFLICT));
    eq("strerror", "key not found", Cellar.strerror(Cellar.ENOTFOUND));
    throwsCode("delete absent", "CELLAR_ENOTFOUND", () -> db.delete(b("missing")));
    throwsCode("expire absent", "CELLAR_ENOTFOUND", () -> db.expire(b("missing"), 5));
    throwsCode("persist absent", "CELLAR_ENOTFOUND", () -> db.persist(b("missing")));

    byte[] max = new byte[65536];
    Arrays.fill(max, (byte) 'k');
    byte[] over = new byte[65537];
    db.put(max, b("v"));
    eq("64 KiB key", b("v"), db.get(max));
    throwsCode("key too big put", "CELLAR_ETOOBIG", () -> db.put(over, b("v")));
    throwsCode("key too big get", "CELLAR_ETOOBIG", () -> db.get(over));
    throwsCode("key too big exists", "CELLAR_ETOOBIG", () -> db.exists(over));
    db.put(b("s"), b("abc"));
    throwsCode("incr of text", "CELLAR_ENAN", () -> db.incr(b("s")));
    db.put(b("max"), b("9223372036854775807"));
    throwsCode("incr overflow", "CELLAR_EOVERFLOW", () -> db.incr(b("max")));
    throwsCode("decr of MIN", "CELLAR_EOVERFLOW", () -> db.decr(b("n"), Long.MIN_VALUE));

    throwsCode("null key", "CELLAR_EINVAL", () -> db.get(null));
    throwsCode("null value", "CELLAR_EINVAL", () -> db.put(b("k"), null));
    throwsCode("null in key list", "CELLAR_EINVAL", () -> db.getMany(new byte[][] {b("a"), null}));
    throwsCode("putMany lengths", "CELLAR_EINVAL", () -> db.putMany(new byte[][] {b("a")}, new byte[0][]));
    throwsCode("negative ttl", "CELLAR_EINVAL", () -> db.putTtl(b("k"), b("v"), -1));
    check("null key list", err(() -> db.getMany(null)).startsWith("OTHER: java.lang.NullPointerException"));

    CellarOptions bad = new CellarOptions();
    throwsCode("bad sync mode", "CELLAR_EINVAL", () -> bad.setSync("sometimes"));
    throwsCode("null sync mode", "CELLAR_EINVAL", () -> bad.setSync(null));
    throwsCode("page size too large", "CELLAR_EINVAL", () -> bad.setPageSize(1 << 20));
    throwsCode("negative cache", "CELLAR_EINVAL", () -> bad.setCacheSize(-5));
    CellarOptions flags = new CellarOptions();
    flags.setFlags(0x100);
    throwsCode("unknown open flags", "CELLAR_EINVAL", () -> CellarDB.open(path("f.cellar"), flags));
    bad.setPageSize(1000);
    throwsCode("page size not a power of two", "CELLAR_EINVAL", () -> CellarDB.open(path("o.cellar"), bad));
    bad.close();
    CellarOptions nocreate = new CellarOptions();
    nocreate.setCreate(false);
    throwsCode("no file, no create", "CELLAR_ENOENT", () -> CellarDB.open(path("none.cellar"), nocreate));
    throwsCode("null path", "CELLAR_EINVAL", () -> CellarDB.open(null));
    String junk = path("junk");
    Files.write(Path.of(junk), "this is not a database, only text ".repeat(200).getBytes(StandardCharsets.UTF_8));
    String j = err(() -> CellarDB.open(junk));
    check("a text file is refused (" + j + ")", j.equals("CELLAR_ENOTDB") || j.equals("CELLAR_ECORRUPT"));

    // a damaged file: whatever happens is a clean CellarException, never a crash
    String damaged = path("damaged.cellar");
    try (CellarDB d = CellarDB.open(damaged)) {
      byte[][] ks = new byte[2000][];
      byte[][] vs = new byte[2000][];
      for (int i = 0; i < 2000; i++) {
        ks[i] = b("key" + i);
        vs[i] = b(("value" + i).repeat(10));
      }
      d.putMany(ks, vs);
    }
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(damaged, "rw")) {
      java.util.Random rnd = new java.util.Random(7);
      byte[] junkPage = new byte[512];
      for (long off = 4096; off < f.length(); off += 3 * 4096) {
        rnd.nextBytes(junkPage);
        f.seek(off + 64);
        f.write(junkPage);
      }
    }
    List<String> outcomes = new ArrayList<>();
    outcomes.add(err(() -> {
      try (CellarDB h = CellarDB.open(damaged)) {
        outcomes.add(err(h::check));
        outcomes.add(err(() -> {
          for (Entry<byte[], byte[]> e : h) e.getKey();
        }));
        for (int i = 0; i < 2000; i++) {
          final int k = i;
          outcomes.add(err(() -> h.get(b("key" + k))));
        }
      }
    }));
    check("damaged file: only CellarExceptions " + outcomes.stream().filter(x -> x.startsWith("OTHER")).findFirst().orElse(""),
        outcomes.stream().allMatch(x -> x.isEmpty() || x.startsWith("CELLAR_")));

    db.put(b("ro"), b("1"));
    db.close();
    CellarOptions roo = new CellarOptions();
    roo.setReadonly(true);
    try (CellarDB ro = CellarDB.open(p, roo)) {
      eq("read-only get", b("1"), ro.get(b("ro")));
      throwsCode("read-only put", "CELLAR_EREADONLY", () -> ro.put(b("x"), b("y")));
      throwsCode("read-write txn on read-only db", "CELLAR_EREADONLY", () -> ro.begin().close());
    }
    throwsCode("get after close", "CELLAR_ECLOSED", () -> db.get(b("ro")));
    throwsCode("put after close", "CELLAR_ECLOSED", () -> db.put(b("a"), b("b")));
    throwsCode("count after close", "CELLAR_ECLOSED", () -> db.count());
    throwsCode("iterate after close", "CELLAR_ECLOSED", () -> db.iterate());
    throwsCode("begin after close", "CELLAR_ECLOSED", () -> db.begin());
    throwsCode("stats after close", "CELLAR_ECLOSED", () -> db.stats());
    throwsCode("close twice", "", () -> db.close());
    check("isClosed", db.isClosed());
  }

  // ---- transactions ---------------------------------------------------------------
  private static void txn() throws Exception {
    try (CellarDB db = CellarDB.open(path("txn.cellar"))) {
      try (CellarTxn t = db.begin()) {
        t.put(b("a"), b("1"));
        t.putTtl(b("b"), b("2"), 100000);
        eq("reads own write", b("1"), t.get(b("a")));
        check("txn exists", t.exists(b("a")));
        check("invisible outside", !db.exists(b("a")));
        t.commit();
        check("commit ends it", !t.isActive());
        throwsCode("use after commit", "CELLAR_ECLOSED", () -> t.put(b("c"), b("3")));
        throwsCode("commit twice", "CELLAR_ECLOSED", t::commit);
        t.abort();
      }
      eq("committed", b("1"), db.get(b("a")));

      try (CellarTxn t = db.begin()) {
        t.delete(b("a"));
        eq("deleted in txn", null, t.getOrNull(b("a")));
        throwsCode("txn delete absent", "CELLAR_ENOTFOUND", () -> t.delete(b("zzz")));
      } // close without commit aborts
      eq("try-with-resources aborts", b("1"), db.get(b("a")));

      CellarTxn t1 = db.begin();
      t1.get(b("a"));
      db.put(b("a"), b("changed"));
      t1.put(b("a"), b("from t1"));
      throwsCode("conflict", "CELLAR_ECONFLICT", t1::commit);
      t1.close();
      eq("conflicting write not applied", b("changed"), db.get(b("a")));

      CellarTxn w1 = db.begin();
      CellarTxn w2 = db.begin();
      w1.put(b("w"), b("1"));
      w2.put(b("w"), b("2"));
      w1.commit();
      w2.commit();
      eq("last writer wins", b("2"), db.get(b("w")));

      try (CellarTxn r = db.begin(true)) {
        eq("read-only txn reads", b("2"), r.get(b("w")));
        throwsCode("read-only txn put", "CELLAR_EREADONLY", () -> r.put(b("x"), b("1")));
      }

      Integer res = db.transaction(t -> {
        t.put(b("s1"), b("x"));
        db.put(b("outside"), b("1")); // the db is usable inside
        return 42;
      });
      eq("transaction returns", 42, res);
      eq("transaction commits", b("x"), db.get(b("s1")));
      try {
        db.transaction(t -> {
          t.put(b("s3"), b("z"));
          throw new IllegalStateException("boom");
        });
        check("transaction rethrows", false);
      } catch (IllegalStateException e) {
        eq("transaction rethrows", "boom", e.getMessage());
      }
      check("transaction aborts", !db.exists(b("s3")));
    }
  }

  // ---- iteration ---------------------------------------------------------------------
  private static void iter() throws Exception {
    try (CellarDB db = CellarDB.open(path("iter.cellar"))) {
      byte[][] keys = new byte[50][];
      byte[][] vals = new byte[50][];
      for (int i = 0; i < 50; i++) {
        keys[i] = b("k" + i);
        vals[i] = b("v" + i);
      }
      db.putMany(keys, vals);
      Map<String, Integer> seen = new HashMap<>();
      for (Entry<byte[], byte[]> e : db) {
        seen.merge(new String(e.getKey(), StandardCharsets.UTF_8), 1, Integer::sum);
      }
      eq("for-each sees every record", 50, seen.size());
      check("each once", seen.values().stream().allMatch(n -> n == 1));

      try (CellarIter it = db.iterate()) {
        throwsCode("key before advance", "CELLAR_EINVAL", it::key);
        int n = 0;
        while (it.hasNext()) {
          Entry<byte[], byte[]> e = it.next();
          if (++n == 3) db.put(b("during"), b("iteration")); // writes while iterating
          check("pairs match", new String(e.getValue(), StandardCharsets.UTF_8)
              .equals("v" + new String(e.getKey(), StandardCharsets.UTF_8).substring(1))
              || Arrays.equals(e.getKey(), b("during")));
        }
        check("saw at least the 50 present throughout", n >= 50);
        check("end is sticky", !it.hasNext());
        try {
          it.next();
          check("next at end throws", false);
        } catch (java.util.NoSuchElementException e) {
          check("next at end throws", true);
        }
      }
    }
  }

  // ---- lifetime ------------------------------------------------------------------------
  private static void lifetime() throws Exception {
    CellarDB db = CellarDB.open(path("life.cellar"));
    CellarTxn t = db.begin();
    t.put(b("late"), b("1"));
    CellarIter it = db.iterate();
    db.close();
    throwsCode("txn after db close", "CELLAR_ECLOSED", () -> t.put(b("x"), b("1")));
    throwsCode("commit after db close", "CELLAR_ECLOSED", t::commit);
    throwsCode("iterator after db close", "CELLAR_ECLOSED", it::advance);
    t.close();
    it.close();
    it.close();
    check("closing dead children", true);

    // a transaction keeps the database open when the db object is dropped
    String keep = path("keep.cellar");
    CellarTxn orphan = CellarDB.open(keep).begin();
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(20);
    }
    orphan.put(b("kept"), b("yes"));
    orphan.commit();
    orphan.close();
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(20);
    }
    try (CellarDB again = CellarDB.open(keep)) {
      eq("txn outliving its db object commits", b("yes"), again.get(b("kept")));
    }

    // many objects never closed: the Cleaner frees them in any order
    String churn = path("churn.cellar");
    for (int round = 0; round < 200; round++) {
      CellarDB d = CellarDB.open(churn);
      d.put(b("r"), b(Integer.toString(round)));
      d.begin();
      d.iterate().hasNext();
      d.stats();
      new CellarOptions();
      if (round % 3 == 0) d.close();
    }
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(20);
    }
    try (CellarDB d = CellarDB.open(churn)) {
      eq("after churn", b("199"), d.get(b("r")));
    }
  }

  // ---- threads -------------------------------------------------------------------------
  private static void threads() throws Exception {
    CellarDB db = CellarDB.open(path("threads.cellar"));
    AtomicReference<Throwable> bad = new AtomicReference<>();
    AtomicInteger ops = new AtomicInteger();
    List<Thread> ts = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      final int id = w;
      ts.add(new Thread(() -> {
        try {
          for (int i = 0; i < 500; i++) {
            byte[] k = b("t" + id + "-" + i);
            db.put(k, k);
            if (!Arrays.equals(k, db.get(k))) throw new AssertionError("lost " + i);
            db.incr(b("shared"));
            ops.incrementAndGet();
          }
        } catch (Throwable e) {
          bad.set(e);
        }
      }));
    }
    for (Thread x : ts) x.start();
    for (Thread x : ts) x.join();
    check("threads: no error (" + bad.get() + ")", bad.get() == null);
    eq("threads: every incr counted", b("2000"), db.get(b("shared")));

    // closing while other threads are inside calls: they only ever see ECLOSED
    AtomicInteger others = new AtomicInteger();
    ts.clear();
    for (int w = 0; w < 3; w++) {
      ts.add(new Thread(() -> {
        for (int i = 0; i < 100000; i++) {
          try {
            db.get(b("shared"));
            db.put(b("x"), b("y"));
          } catch (CellarException e) {
            if (e.getCode() != Cellar.ECLOSED) others.incrementAndGet();
            return;
          }
        }
      }));
    }
    for (Thread x : ts) x.start();
    Thread.sleep(30);
    db.close();
    for (Thread x : ts) x.join();
    eq("concurrent close: only ECLOSED", 0, others.get());

    // one transaction used from two threads at once: EBUSY, not a crash
    try (CellarDB d = CellarDB.open(path("busy.cellar")); CellarTxn t = d.begin()) {
      AtomicInteger busy = new AtomicInteger();
      AtomicInteger otherErr = new AtomicInteger();
      ts.clear();
      for (int w = 0; w < 2; w++) {
        ts.add(new Thread(() -> {
          for (int i = 0; i < 2000; i++) {
            try {
              t.put(b("k" + i), b("v"));
            } catch (CellarException e) {
              if (e.getCode() == Cellar.EBUSY) busy.incrementAndGet();
              else otherErr.incrementAndGet();
            }
          }
        }));
      }
      for (Thread x : ts) x.start();
      for (Thread x : ts) x.join();
      eq("shared txn: only EBUSY errors", 0, otherErr.get());
      t.commit();
    }
  }

  // ---- conformance and interop -------------------------------------------------------
  private static void spec() throws Exception {
    String dir = System.getenv("CELLAR_SPEC_CASES");
    File cases = new File(dir != null ? dir : "tests/spec/cases");
    if (!cases.isDirectory()) {
      failed++;
      System.out.println("FAIL spec: no conformance cases at " + cases + " (set CELLAR_SPEC_CASES)");
      return;
    }
    SpecRunner r = new SpecRunner();
    r.runAll(cases, System.getenv("CELLAR_SPEC_ONLY"));
    for (String f : r.failures) System.out.println("FAIL spec " + f);
    System.out.println("spec: " + r.passed + " passed, " + r.failed + " failed");
    passed += r.passed;
    failed += r.failed;
  }

  private static void interop() throws Exception {
    String p = path("from_python.cellar");
    String writer = System.getProperty("cellardb.pywriter", "tests/swig/python_writer.py");
    String python = System.getenv().getOrDefault("CELLAR_PYTHON", "python3");
    ProcessBuilder pb = new ProcessBuilder(python, writer, p).redirectErrorStream(true);
    String pp = System.getenv("CELLAR_PYTHONPATH");
    String old = System.getenv("PYTHONPATH");
    pb.environment().put("PYTHONPATH", (pp == null ? "" : pp) + (old == null ? "" : ":" + old));
    int rc;
    String out;
    try {
      Process proc = pb.start();
      out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      rc = proc.waitFor();
    } catch (IOException e) {
      rc = 127;
      out = e.toString();
    }
    if (rc == 77 || rc == 127) {
      skipped++;
      System.out.println("SKIP interop: Python binding not available: " + out);
      return;
    }
    eq("python writer ran (" + out + ")", 0, rc);
    CellarOptions ro = new CellarOptions();
    ro.setReadonly(true);
    try (CellarDB db = CellarDB.open(p, ro)) {
      byte[] all = new byte[256];
      for (int i = 0; i < 256; i++) all[i] = (byte) i;
      eq("interop value", b("hello from python"), db.get(b("from-python")));
      eq("interop binary", all, db.get(b("binary\0key")));
      eq("interop empty", 0, db.get(new byte[0]).length);
      eq("interop text as UTF-8", b("caf\u00e9"), db.get(b("text")));
      eq("interop count", 104L, db.count());
      eq("interop check", 0, db.check().length);
    }
  }

  public static void main(String[] args) throws Exception {
    tmp = Files.createTempDirectory("cellar-java");
    List<String> want = Arrays.asList(args);
    Map<String, Body> sections = new java.util.LinkedHashMap<>();
    sections.put("basic", CellarTest::basic);
    sections.put("errors", CellarTest::errors);
    sections.put("txn", CellarTest::txn);
    sections.put("iter", CellarTest::iter);
    sections.put("lifetime", CellarTest::lifetime);
    sections.put("threads", CellarTest::threads);
    sections.put("hostile", HostileTest::hostile);
    sections.put("recursion", HostileTest::recursion);
    sections.put("closerace", HostileTest::closeRace);
    sections.put("spec", CellarTest::spec);
    sections.put("interop", CellarTest::interop);
    for (Map.Entry<String, Body> s : sections.entrySet()) {
      if (want.isEmpty() || want.contains(s.getKey())) section(s.getKey(), s.getValue());
    }
    deleteTree(tmp.toFile());
    System.out.println(passed + " passed, " + failed + " failed" + (skipped > 0 ? ", " + skipped + " skipped" : ""));
    System.exit(failed == 0 ? 0 : 1);
  }

  private static void deleteTree(File f) {
    File[] kids = f.listFiles();
    if (kids != null) for (File k : kids) deleteTree(k);
    f.delete();
  }
}
