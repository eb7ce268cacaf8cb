# Sourced by ./moe4j, tools/mvn and .ci/run: exports JAVA_HOME pointing at a JDK 25 or newer.
# Looks at $JAVA_HOME first, then the usual install places; says how to fix it when none is found.
moe4j_java_version() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n 1
}
moe4j_find_jdk() {
  local candidate version
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* /usr/lib/jvm/* /opt/java/* \
      /opt/jdk* /usr/local/jdk* "$HOME"/.sdkman/candidates/java/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] || continue
    version=$(moe4j_java_version "$candidate")
    if [ -n "$version" ] && [ "${version%%.*}" -ge 25 ] 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
if ! MOE4J_JDK=$(moe4j_find_jdk); then
  echo "moe4j needs a JDK 25 or newer (with javac). Install one (for example Temurin 25) and set JAVA_HOME to it." >&2
  exit 1
fi
export JAVA_HOME="$MOE4J_JDK"
export PATH="$JAVA_HOME/bin:$PATH"
