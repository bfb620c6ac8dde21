package cellardb;

/**
 * A cellardb failure: every error code of the C library arrives as this
 * unchecked exception. getCode() is the number (Cellar.ENOTFOUND, ...),
 * getName() the symbolic name ("CELLAR_ENOTFOUND") shared by every binding.
 */
public class CellarException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int code;
  private final String name;

  public CellarException(int code, String name, String message) {
    super(message + " (" + name + ")");
    this.code = code;
    this.name = name;
  }

  /** The error code: a negative Cellar.E* constant. */
  public int getCode() { return code; }

  /** The code's symbolic name, e.g. "CELLAR_ENOTFOUND". */
  public String getName() { return name; }

  /** True for a missing key (CELLAR_ENOTFOUND). */
  public boolean isNotFound() { return code == Cellar.ENOTFOUND; }
}
