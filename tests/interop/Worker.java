// The Java side of the cross-language interop test (driven by interop.py).
// usage: java -Dcellardb.jni=LIB -cp cellardb.jar:CLASSES Worker write PLAN DB | read PLAN DB...
// (the plan format is described in interop_c.c)
import cellardb.CellarDB;
import cellardb.CellarOptions;
import cellardb.CellarTxn;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public final class Worker {
  static final class Op {
    String kind;
    List<byte[][]> pairs = new ArrayList<>();
    long ttl;
  }

  static byte[] decode(String tok) {
    if (tok.charAt(0) == 'p') {
      int n = Integer.parseInt(tok.substring(1));
      byte[] b = new byte[n];
      for (int i = 0; i < n; i++) b[i] = (byte) (i % 251);
      return b;
    }
    String h = tok.substring(1);
    byte[] b = new byte[h.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
    return b;
  }

  static List<Op> readPlan(String file) throws Exception {
    List<Op> ops = new ArrayList<>();
    for (String line : Files.readAllLines(Paths.get(file))) {
      if (line.isEmpty() || line.startsWith("#")) continue;
      String[] t = line.split(" ", -1);
      Op op = new Op();
      op.kind = t[0];
      if (op.kind.equals("ttl")) {
        op.pairs.add(new byte[][] {decode(t[1]), decode(t[2])});
        op.ttl = Long.parseLong(t[3]);
      } else {
        for (int i = 1; i < t.length; i += 2) op.pairs.add(new byte[][] {decode(t[i]), decode(t[i + 1])});
      }
      ops.add(op);
    }
    return ops;
  }

  static void write(List<Op> ops, String file) {
    CellarOptions o = new CellarOptions();
    o.setTruncate(true);
    try (CellarDB db = CellarDB.open(file, o)) {
      for (Op op : ops) {
        byte[][] p0 = op.pairs.get(0);
        if (op.kind.equals("put")) {
          db.put(p0[0], p0[1]);
        } else if (op.kind.equals("ttl")) {
          db.putTtl(p0[0], p0[1], op.ttl);
        } else {
          CellarTxn t = db.begin();
          for (byte[][] p : op.pairs) t.put(p[0], p[1]);
          if (op.kind.equals("commit")) t.commit(); else t.abort();
          t.close();
        }
      }
    }
  }

  static String verify(List<Op> ops, String file) {
    CellarOptions o = new CellarOptions();
    o.setReadonly(true);
    try (CellarDB db = CellarDB.open(file, o)) {
      long present = 0;
      for (Op op : ops) {
        for (int i = 0; i < op.pairs.size(); i++) {
          byte[] k = op.pairs.get(i)[0], v = op.pairs.get(i)[1];
          byte[] got = db.getOrNull(k);
          if (op.kind.equals("abort")) {
            if (got != null || db.exists(k)) return "key " + i + " of the aborted transaction is present";
            continue;
          }
          if (got == null) return op.kind + " record (" + k.length + "-byte key) is missing";
          if (!Arrays.equals(got, v)) {
            return op.kind + " record (" + k.length + "-byte key): " + got.length
                + "-byte value differs (want " + v.length + " bytes)";
          }
          present++;
          if (op.kind.equals("ttl")) {
            long left = db.ttl(k);
            if (left <= 0 || left > op.ttl) return "ttl of the TTL record is " + left;
          }
        }
      }
      long n = db.count();
      if (n != present) return "count " + n + ", want " + present;
      return null;
    } catch (RuntimeException e) {
      return e.toString();
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 3 || !(args[0].equals("write") || args[0].equals("read"))) {
      System.err.println("usage: Worker write PLAN DB | read PLAN DB...");
      System.exit(2);
    }
    List<Op> ops = readPlan(args[1]);
    if (args[0].equals("write")) {
      write(ops, args[2]);
      return;
    }
    boolean failed = false;
    for (int i = 2; i < args.length; i++) {
      String why = verify(ops, args[i]);
      if (why != null) {
        System.out.println("FAIL " + args[i] + ": " + why);
        failed = true;
      } else {
        System.out.println("PASS " + args[i]);
      }
    }
    System.exit(failed ? 1 : 0);
  }
}
