# Sourced by the fixture generators that run a moe4j-core test class's main: compiles the tests and sets $cp to
# their classpath (test classes, classes and dependencies). Needs $root (the project root) and $tmp (a scratch
# directory). The dependency list goes through a file: Maven's stdout carries colour codes.
"$root/tools/mvn" -o -pl moe4j-core test-compile
"$root/tools/mvn" -o -pl moe4j-core dependency:build-classpath -Dmdep.outputFile="$tmp/classpath.txt"
cp="$root/moe4j-core/target/test-classes:$root/moe4j-core/target/classes:$(cat "$tmp/classpath.txt")"
