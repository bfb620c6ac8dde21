package cellardb.test;

import cellardb.CellarClock;
import cellardb.CellarDB;
import cellardb.CellarException;
import cellardb.CellarIter;
import cellardb.CellarOptions;
import cellardb.CellarTxn;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Map.Entry;

/**
 * The conformance suite (tests/spec/cases/*.json, format in
 * tests/spec/README.md) run through the Java binding. Results are compared as
 * canonical text: "b:HEX" bytes, "i:N", "bool:true", "null", [..], {..}.
 */
final class SpecRunner {
  private static final long DEFAULT_CLOCK = 1700000000000L;

  int passed;
  int failed;
  final List<String> failures = new ArrayList<>();

  // the state of the running case
  private Path path;
  private CellarDB db;
  private CellarClock clock;
  private Map<String, Object> caseOptions;
  private final Map<String, CellarTxn> txns = new HashMap<>();

  void runAll(File dir, String only) throws IOException {
    File[] files = dir.listFiles((d, n) -> n.endsWith(".json"));
    if (files == null || files.length == 0) throw new IOException("no cases in " + dir);
    Arrays.sort(files);
    for (File f : files) {
      String text = new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8);
      Map<String, Object> doc = map(Json.parse(text));
      for (Object c : list(doc.get("cases"))) {
        Map<String, Object> kase = map(c);
        String name = (String) kase.get("name");
        if (only != null && !only.equals(name)) continue;
        String failure;
        try {
          failure = runCase(kase);
        } catch (RuntimeException | IOException e) {
          failure = "runner: " + e;
        }
        if (failure == null) {
          passed++;
        } else {
          failed++;
          failures.add(name + ": " + failure);
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) { return (Map<String, Object>) o; }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object o) { return (List<Object>) o; }

  // ---- BYTES ---------------------------------------------------------------
  static byte[] bytes(Object j) {
    if (j == null) return null;
    if (j instanceof String) return ((String) j).getBytes(StandardCharsets.UTF_8);
    Map<String, Object> m = map(j);
    if (m.containsKey("hex")) {
      String h = (String) m.get("hex");
      byte[] b = new byte[h.length() / 2];
      for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
      return b;
    }
    if (m.containsKey("repeat")) {
      byte[] unit = ((String) m.get("repeat")).getBytes(StandardCharsets.UTF_8);
      int n = ((Long) m.get("count")).intValue();
      byte[] b = new byte[unit.length * n];
      for (int i = 0; i < n; i++) System.arraycopy(unit, 0, b, i * unit.length, unit.length);
      return b;
    }
    throw new IllegalArgumentException("bad BYTES " + j);
  }

  static String canon(byte[] b) {
    if (b == null) return "null";
    StringBuilder s = new StringBuilder("b:");
    for (byte x : b) s.append(String.format("%02x", x & 0xff));
    return s.toString();
  }

  static String canonExpected(String op, Object v) {
    if (v == null) return "null";
    switch (op) {
      case "get":
      case "txn_get":
        return canon(bytes(v));
      case "exists":
      case "txn_exists":
        return "bool:" + v;
      case "get_many": {
        List<String> out = new ArrayList<>();
        for (Object o : list(v)) out.add(canon(bytes(o)));
        return "[" + String.join(",", out) + "]";
      }
      case "iterate": {
        List<String> out = new ArrayList<>();
        for (Object o : list(v)) out.add(canon(bytes(list(o).get(0))) + "=" + canon(bytes(list(o).get(1))));
        Collections.sort(out);
        return "{" + String.join(",", out) + "}";
      }
      default:
        return "i:" + v;
    }
  }

  // ---- running ----------------------------------------------------------------
  private void open(Map<String, Object> over) {
    Map<String, Object> o = new LinkedHashMap<>(caseOptions);
    if (over != null) o.putAll(over);
    CellarOptions opts = new CellarOptions();
    try {
      opts.setClock(clock);
      if (o.containsKey("page_size")) opts.setPageSize((Long) o.get("page_size"));
      if (o.containsKey("cache_size")) opts.setCacheSize((Long) o.get("cache_size"));
      if (o.containsKey("sync")) opts.setSync((String) o.get("sync"));
      if (o.containsKey("readonly")) opts.setReadonly((Boolean) o.get("readonly"));
      db = new CellarDB(path.toString(), opts);
    } finally {
      opts.close();
    }
  }

  private interface Op {
    String run() throws Exception;
  }

  private static String call(Op op) {
    try {
      return "ok " + op.run();
    } catch (CellarException e) {
      return "error " + e.getName();
    } catch (Exception e) {
      return "error OTHER: " + e;
    }
  }

  private CellarTxn txn(Object name) {
    CellarTxn t = txns.get((String) name);
    if (t == null) throw new IllegalStateException("no transaction named " + name);
    return t;
  }

  private String runCase(Map<String, Object> kase) throws IOException {
    Path dir = Files.createTempDirectory("cellar-java-spec");
    path = dir.resolve("db");
    caseOptions = kase.containsKey("options") ? map(kase.get("options")) : new HashMap<>();
    long start = caseOptions.containsKey("clock") ? (Long) caseOptions.get("clock") : DEFAULT_CLOCK;
    clock = new CellarClock(start);
    db = null;
    txns.clear();
    try {
      String want = "ok null";
      if (kase.containsKey("open_expect")) {
        Map<String, Object> oe = map(kase.get("open_expect"));
        if (oe.containsKey("error")) want = "error " + oe.get("error");
      }
      String got = call(() -> {
        open(null);
        return "null";
      });
      if (!got.equals(want)) return "open: expected " + want + ", got " + got;
      List<Object> steps = kase.containsKey("steps") ? list(kase.get("steps")) : new ArrayList<>();
      for (int i = 0; i < steps.size(); i++) {
        Map<String, Object> step = map(steps.get(i));
        String op = (String) step.get("op");
        List<Object> a = step.containsKey("args") ? list(step.get("args")) : new ArrayList<>();
        got = call(() -> op(op, a));
        if (step.containsKey("expect")) {
          Map<String, Object> ex = map(step.get("expect"));
          want = ex.containsKey("error") ? "error " + ex.get("error") : "ok " + canonExpected(op, ex.get("ok"));
          if (!got.equals(want)) return "step " + i + " (" + op + "): expected " + want + ", got " + got;
        } else if (!got.startsWith("ok ")) {
          return "step " + i + " (" + op + "): expected success, got " + got;
        }
      }
      return null;
    } finally {
      for (CellarTxn t : txns.values()) t.close();
      txns.clear();
      if (db != null) db.close();
      clock.close();
      for (File f : dir.toFile().listFiles()) f.delete();
      dir.toFile().delete();
    }
  }

  private String op(String op, List<Object> a) {
    switch (op) {
      case "get": return canon(db.get(bytes(a.get(0))));
      case "put": db.put(bytes(a.get(0)), bytes(a.get(1))); return "null";
      case "put_ttl": db.putTtl(bytes(a.get(0)), bytes(a.get(1)), (Long) a.get(2)); return "null";
      case "delete": db.delete(bytes(a.get(0))); return "null";
      case "exists": return "bool:" + db.exists(bytes(a.get(0)));
      case "count": return "i:" + db.count();
      case "incr": return "i:" + db.incr(bytes(a.get(0)), a.size() > 1 ? (Long) a.get(1) : 1);
      case "decr": return "i:" + db.decr(bytes(a.get(0)), a.size() > 1 ? (Long) a.get(1) : 1);
      case "cas": db.cas(bytes(a.get(0)), bytes(a.get(1)), bytes(a.get(2))); return "null";
      case "expire": db.expire(bytes(a.get(0)), (Long) a.get(1)); return "null";
      case "ttl": return "i:" + db.ttl(bytes(a.get(0)));
      case "persist": db.persist(bytes(a.get(0))); return "null";
      case "get_many": {
        List<Object> ks = list(a.get(0));
        byte[][] keys = new byte[ks.size()][];
        for (int i = 0; i < keys.length; i++) keys[i] = bytes(ks.get(i));
        List<String> out = new ArrayList<>();
        for (byte[] v : db.getMany(keys)) out.add(canon(v));
        return "[" + String.join(",", out) + "]";
      }
      case "put_many": {
        List<Object> ps = list(a.get(0));
        byte[][] keys = new byte[ps.size()][];
        byte[][] vals = new byte[ps.size()][];
        for (int i = 0; i < keys.length; i++) {
          keys[i] = bytes(list(ps.get(i)).get(0));
          vals[i] = bytes(list(ps.get(i)).get(1));
        }
        db.putMany(keys, vals);
        return "null";
      }
      case "iterate": {
        List<String> out = new ArrayList<>();
        try (CellarIter it = db.iterate()) {
          for (Entry<byte[], byte[]> e : it) out.add(canon(e.getKey()) + "=" + canon(e.getValue()));
        }
        Collections.sort(out);
        return "{" + String.join(",", out) + "}";
      }
      case "advance_clock": clock.advance((Long) a.get(0)); return "null";
      case "close": db.close(); return "null";
      case "reopen":
        db.close();
        open(a.isEmpty() ? null : map(a.get(0)));
        return "null";
      case "txn_begin": {
        boolean ro = a.size() > 1 && "readonly".equals(a.get(1));
        txns.put((String) a.get(0), db.begin(ro));
        return "null";
      }
      case "txn_get": return canon(txn(a.get(0)).get(bytes(a.get(1))));
      case "txn_exists": return "bool:" + txn(a.get(0)).exists(bytes(a.get(1)));
      case "txn_put": txn(a.get(0)).put(bytes(a.get(1)), bytes(a.get(2))); return "null";
      case "txn_put_ttl": txn(a.get(0)).putTtl(bytes(a.get(1)), bytes(a.get(2)), (Long) a.get(3)); return "null";
      case "txn_delete": txn(a.get(0)).delete(bytes(a.get(1))); return "null";
      case "txn_commit": {
        CellarTxn t = txns.remove((String) a.get(0));
        if (t == null) throw new IllegalStateException("no transaction " + a.get(0));
        try (CellarTxn scoped = t) {
          scoped.commit();
        }
        return "null";
      }
      case "txn_abort": {
        CellarTxn t = txns.remove((String) a.get(0));
        if (t == null) throw new IllegalStateException("no transaction " + a.get(0));
        t.abort();
        t.close();
        return "null";
      }
      default:
        throw new IllegalArgumentException("unknown op " + op);
    }
  }
}
