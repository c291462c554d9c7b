# ringblocks: the front door. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := build

JEXTRACT ?= ../shared/tools/jextract/jextract
FFI_DIR := src/main/java/io/ringblocks/ffi
# Maven's own JVM must stay quiet on JDK 25 (its bundled Guava touches sun.misc.Unsafe).
export MAVEN_OPTS ?= --sun-misc-unsafe-memory-access=allow
MVN := mvn -B -q -Dstyle.color=never
JDK = $(shell tools/find-jdk)

.PHONY: build test run bench compare redis microbench floor bindings deps jdk clean install-client examples dist dist-check format

jdk:
	@tools/find-jdk >/dev/null

# liburing 2.x (runtime and headers): installed with apt-get when missing and we are root. Debian keeps ldconfig in
# /sbin, off a normal user's PATH.
LDCONFIG := $(firstword $(wildcard /sbin/ldconfig /usr/sbin/ldconfig) ldconfig)
deps:
	@if $(LDCONFIG) -p 2>/dev/null | grep -q 'liburing\.so\.2' && [ -f /usr/include/liburing.h ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing liburing2 liburing-dev"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liburing2 liburing-dev) >/dev/null || exit 1; \
	else \
	  echo "ringblocks needs liburing: run 'sudo apt-get install -y liburing2 liburing-dev'" >&2; exit 1; \
	fi

build: deps jdk
	rm -rf target/lib
	JAVA_HOME=$(JDK) $(MVN) package -DskipTests

test: deps jdk
	JAVA_HOME=$(JDK) $(MVN) verify

# Applies the formatting `make test` checks (Spotless: import order, unused imports, whitespace; see pom.xml).
format: jdk
	JAVA_HOME=$(JDK) $(MVN) spotless:apply

# The client library alone (client/: no runtime dependencies, with sources and javadoc jars) into ~/.m2, for
# projects that depend on io.ringblocks:ringblocks-client; `examples` then builds examples/ the way they would.
install-client: jdk
	JAVA_HOME=$(JDK) $(MVN) -pl client -am install -DskipTests

examples: install-client
	JAVA_HOME=$(JDK) $(MVN) -f examples/pom.xml package

# target/ringblocks-<version>-linux-x86_64.tar.gz: jlink'd runtime, jars, launchers (bin/), README, systemd unit;
# dist-check unpacks it and runs it with PATH and JAVA_HOME unset.
dist: build
	tools/make-dist

dist-check: dist
	tools/check-dist

run: build
	tools/ringblocks-server $(ARGS)

# The loopback benchmark matrix recorded in docs/benchmarks.md, as JSON lines in target/bench/, charted into
# docs/img/*.png by tools/rbplot (which also prints every run as one Markdown table); ARGS replaces it all with
# one rbbench run (see tools/rbbench --help).
BENCH_ARGS ?= -size 4k,16k,64k,512k,1m -mix 1:0:0,0:1:0 -concurrency 1,16,64 -pipeline 1 -duration 3s -warmup 2s
BENCH_PIPELINED ?= -size 4k,64k -mix 1:0:0,0:1:0 -concurrency 64 -pipeline 8 -duration 3s -warmup 2s
# GET latency against offered load (open loop: -rate), up to beyond half of this machine's pipeline-1 peak.
BENCH_LOAD ?= -size 4k -mix 0:1:0 -concurrency 64 -rate 10000,20000,40000,65000,90000 -duration 4s -warmup 2s
BENCH_HALF_PUT ?= -size 4k -mix 1:0:0 -concurrency 64 -rate 12000 -duration 5s -warmup 2s
bench: build
	@if [ -n "$(ARGS)" ]; then tools/rbbench $(ARGS); else \
	  mkdir -p target/bench && \
	  tools/rbbench --json $(BENCH_ARGS) > target/bench/matrix.jsonl && \
	  tools/rbbench --json $(BENCH_PIPELINED) > target/bench/pipelined.jsonl && \
	  tools/rbbench --json $(BENCH_LOAD) > target/bench/load.jsonl && \
	  tools/rbbench --json $(BENCH_HALF_PUT) > target/bench/half-put.jsonl && \
	  tools/rbplot --out docs/img target/bench/*.jsonl; fi

# Redis 7 for `make compare`: installed with apt-get when missing and we are root.
redis:
	@if command -v redis-server >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing redis-server"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null || exit 1; \
	else \
	  echo "make compare needs Redis 7: run 'sudo apt-get install -y redis-server'" >&2; exit 1; \
	fi

# ringblocks and Redis alternately on the same workloads with the same client (see tools/rbcompare --help and
# docs/benchmarks.md); ARGS passes flags, e.g. ARGS="--duration 1s --warmup 500ms --sizes 4k".
compare: build redis
	tools/rbcompare $(ARGS)

# JMH microbenchmarks of the storage engine (src/test/java/io/ringblocks/bench), e.g. ARGS="-f 1 -i 3 Allocator".
microbench: deps jdk
	JAVA_HOME=$(JDK) $(MVN) test-compile dependency:build-classpath -Dmdep.includeScope=test \
	  -Dmdep.outputFile=$(CURDIR)/target/test-classpath.txt -pl :ringblocks -am
	$(JDK)/bin/java @tools/jvm.options -cp "target/test-classes:target/classes:$$(cat target/test-classpath.txt)" \
	  org.openjdk.jmh.Main $(ARGS)

# The disk's own cost of a durable 4 KiB write in the shapes a batch could take (native/bench/durable_floor.c);
# DIR must be on the data directory's filesystem.
DIR ?= data
floor: deps
	@mkdir -p target "$(DIR)"
	cc -O2 -o target/durable_floor native/bench/durable_floor.c -luring
	target/durable_floor "$(DIR)" $(ARGS)

# Regenerates io.ringblocks.ffi from native/liburing_bindings.h and the include list native/liburing.symbols.
bindings: deps jdk
	@mkdir -p target
	grep -v '^#' native/liburing.symbols > target/jextract.args
	rm -rf $(FFI_DIR)
	JEXTRACT_JAVA_HOME=$(JDK) $(JEXTRACT) --output src/main/java -t io.ringblocks.ffi \
	  --header-class-name liburing -l :liburing.so.2 @target/jextract.args native/liburing_bindings.h

clean:
	rm -rf target client/target examples/target
