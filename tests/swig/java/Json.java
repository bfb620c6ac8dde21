package cellardb.test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader for the conformance cases: objects (Map), arrays (List),
 * strings (String), integers (Long), true/false (Boolean) and null.
 */
final class Json {
  private final String s;
  private int i;

  private Json(String s) { this.s = s; }

  static Object parse(String text) {
    Json p = new Json(text);
    Object v = p.value();
    p.space();
    if (p.i != p.s.length()) throw p.error("trailing text");
    return v;
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("json: " + what + " at offset " + i);
  }

  private void space() {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
  }

  private void expect(char c) {
    space();
    if (i >= s.length() || s.charAt(i) != c) throw error("expected '" + c + "'");
    i++;
  }

  private Object value() {
    space();
    if (i >= s.length()) throw error("unexpected end");
    char c = s.charAt(i);
    switch (c) {
      case '{': return object();
      case '[': return array();
      case '"': return string();
      case 't': return word("true", Boolean.TRUE);
      case 'f': return word("false", Boolean.FALSE);
      case 'n': return word("null", null);
      default:
        int start = i;
        if (c == '-') i++;
        while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
        if (i == start || (i == start + 1 && c == '-')) throw error("unexpected '" + c + "'");
        return Long.parseLong(s.substring(start, i));
    }
  }

  private Object word(String w, Object v) {
    if (!s.startsWith(w, i)) throw error("bad literal");
    i += w.length();
    return v;
  }

  private Map<String, Object> object() {
    i++;
    Map<String, Object> m = new LinkedHashMap<>();
    space();
    if (s.charAt(i) == '}') {
      i++;
      return m;
    }
    while (true) {
      space();
      String k = string();
      expect(':');
      m.put(k, value());
      space();
      char c = s.charAt(i++);
      if (c == '}') return m;
      if (c != ',') throw error("expected , or }");
    }
  }

  private List<Object> array() {
    i++;
    List<Object> l = new ArrayList<>();
    space();
    if (s.charAt(i) == ']') {
      i++;
      return l;
    }
    while (true) {
      l.add(value());
      space();
      char c = s.charAt(i++);
      if (c == ']') return l;
      if (c != ',') throw error("expected , or ]");
    }
  }

  private String string() {
    if (s.charAt(i) != '"') throw error("expected a string");
    i++;
    StringBuilder b = new StringBuilder();
    while (true) {
      if (i >= s.length()) throw error("unterminated string");
      char c = s.charAt(i++);
      if (c == '"') return b.toString();
      if (c != '\\') {
        b.append(c);
        continue;
      }
      char e = s.charAt(i++);
      switch (e) {
        case '"': b.append('"'); break;
        case '\\': b.append('\\'); break;
        case '/': b.append('/'); break;
        case 'b': b.append('\b'); break;
        case 'f': b.append('\f'); break;
        case 'n': b.append('\n'); break;
        case 'r': b.append('\r'); break;
        case 't': b.append('\t'); break;
        case 'u':
          b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
          i += 4;
          break;
        default: throw error("bad escape \\" + e);
      }
    }
  }
}
