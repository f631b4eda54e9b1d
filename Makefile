# proxy: a SOCKS5 + transparent proxy that carries TCP and UDP through one
# mutually authenticated TLS 1.3 connection.
#
#   make            build build/proxy-server and build/proxy-client
#   make deps       install missing build and test dependencies (root/sudo)
#   make demo       deps + build + throwaway PKI + server and client on loopback
#   make test       deps + build + unit, sanitizer and integration tests
#   make asan, make tsan   the AddressSanitizer / ThreadSanitizer builds
#   make bench      speed and memory side by side with ssh -D, ss-libev, trojan
#                   (BENCH="lossy" or other tests: only those, see run.sh)
#   make lint       check the C sources against .clang-format (tests/lint.sh)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        the Debian package, BUILD/deb/proxy_VERSION_ARCH.deb
#   make V=1        show the commands

CC       ?= cc
PKG_CONFIG ?= pkg-config
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build

PKGS     := openssl libcares sqlite3
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) libev 2>/dev/null || $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# libev ships no .pc file on Debian: fall back to -lev.
EV_LIBS    := $(shell $(PKG_CONFIG) --libs libev 2>/dev/null || echo -lev)

# CFLAGS/LDFLAGS are the user's (and the sanitizer build's); the flags the
# project needs are added separately so a command-line CFLAGS keeps them.
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wno-unused-parameter
ALL_CFLAGS = -std=gnu11 $(WARN) -fno-strict-aliasing -D_GNU_SOURCE -pthread \
	     $(PKG_CFLAGS) $(CFLAGS)
LDLIBS   += $(PKG_LIBS) $(EV_LIBS) -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRCS := $(wildcard common/*.c)
SERVER_SRCS := $(wildcard proxy-server/*.c)
CLIENT_SRCS := $(wildcard proxy-client/*.c) $(wildcard redir/*.c)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
# What the test binaries share: tests/unit/*.c not named test_*.
UNIT_HELPER_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJS := $(call obj,$(COMMON_SRCS))
SERVER_OBJS := $(call obj,$(SERVER_SRCS))
CLIENT_OBJS := $(call obj,$(CLIENT_SRCS))
# Unit tests link every module except the two main()s.
LIB_OBJS    := $(COMMON_OBJS) $(filter-out %/main.o,$(SERVER_OBJS) $(CLIENT_OBJS))
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_HELPER_OBJS := $(call obj,$(UNIT_HELPER_SRCS))
.SECONDARY: $(UNIT_HELPER_OBJS)

.PHONY: all deps demo test check unit asan tsan bench bench-route lint install \
	uninstall deb clean

all: $(BUILD)/proxy-server $(BUILD)/proxy-client

$(BUILD)/proxy-server: $(SERVER_OBJS) $(COMMON_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/proxy-client: $(CLIENT_OBJS) $(COMMON_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_HELPER_OBJS) $(LIB_OBJS) \
		 $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_HELPER_OBJS) \
		$(LIB_OBJS) $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

unit: $(UNIT_BINS)

# The same tree built with AddressSanitizer + UndefinedBehaviorSanitizer
# in build/asan; `make test` runs the unit and integration tests on it too.
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" all unit

# The same tree built with ThreadSanitizer in build/tsan, for the server's
# worker threads (`workers N`); tests/run.sh runs its unit tests and the
# workers part of test_accounting.sh on it.
tsan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=thread" \
		LDFLAGS="-fsanitize=thread" all unit

# libFuzzer targets (tests/fuzz/), built with clang into BUILD/fuzz from
# the pure modules each needs (no OpenSSL, libev or c-ares), then run
# FUZZ_SECONDS each on a copy of their seed corpus; crash inputs go to
# BUILD/fuzz/crashes/. `make fuzz FUZZ_TARGETS=frame FUZZ_SECONDS=600`.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= frame socks5 addr conf daemon_conf dns_msg
FUZZ_CFLAGS  := -std=gnu11 $(WARN) -fno-strict-aliasing -D_GNU_SOURCE \
		$(PKG_CFLAGS) -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_frame       := common/frame.c common/dpkt.c common/addr.c common/util.c
FUZZ_socks5      := proxy-client/socks5_proto.c common/addr.c common/util.c
FUZZ_addr        := common/addr.c common/util.c
FUZZ_conf        := common/conf.c common/addr.c common/util.c
FUZZ_dns_msg     := proxy-client/dns_msg.c common/util.c
# the daemons' real directive tables; open() is fenced in by the target
FUZZ_daemon_conf := proxy-server/server_conf.c proxy-server/policy.c \
		    proxy-server/quota.c proxy-server/rates.c proxy-server/named.c \
		    proxy-client/route.c proxy-client/route_nets.c \
		    proxy-client/route_names.c \
		    proxy-client/client_conf.c common/tunnel_conf.c \
		    common/conf.c common/addr.c common/util.c common/log.c
FUZZ_LDFLAGS_daemon_conf := -Wl,--wrap=open
FUZZ_HDRS    := $(wildcard common/*.h proxy-client/*.h proxy-server/*.h tests/fuzz/*.h)
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))

define FUZZ_RULE
$(BUILD)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_$(1)) $$(FUZZ_HDRS)
	@mkdir -p $$(dir $$@)
	@echo "  FUZZ    $$@"
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(FUZZ_LDFLAGS_$(1)) -o $$@ \
		tests/fuzz/fuzz_$(1).c $$(FUZZ_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh --no-build \
		$(BUILD) $(FUZZ_TARGETS)

deps:
	$(Q)./tests/deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/demo.sh $(BUILD)

test: deps
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)$(MAKE) --no-print-directory asan
	$(Q)$(MAKE) --no-print-directory tsan
	$(Q)./tests/run.sh $(BUILD)

check: test

# Formatting as .clang-format says; clang-format comes from make deps.
lint: deps
	$(Q)./tests/lint.sh

bench: deps all
	$(Q)$(if $(BENCH),BENCH_TESTS="$(BENCH)" )./tests/bench/run.sh $(BUILD)

# The split routing table alone (issue 21): load time, memory and
# decision time for 10,000 CIDRs and 100,000 names, printed.
ROUTE_BENCH_OBJS := $(call obj,proxy-client/route.c proxy-client/route_nets.c \
		    proxy-client/route_names.c common/conf.c common/addr.c \
		    common/util.c)

$(BUILD)/bench/route_bench: tests/bench/route_bench.c $(ROUTE_BENCH_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

bench-route: $(BUILD)/bench/route_bench
	$(Q)$(BUILD)/bench/route_bench

# systemd reads units from /usr/lib/systemd/system and, for the default
# PREFIX, /usr/local/lib/systemd/system; override with SYSTEMDUNITDIR=.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_DOCS := conf/server.conf conf/client.conf README.md docs/PROTOCOL.md
UNIT_SED := sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' -e 's|@BINDIR@|$(PREFIX)/bin|g'

install: all
	install -D -m 0755 $(BUILD)/proxy-server $(DESTDIR)$(PREFIX)/sbin/proxy-server
	install -D -m 0755 $(BUILD)/proxy-client $(DESTDIR)$(PREFIX)/bin/proxy-client
	install -D -m 0644 man/proxy-client.1 $(DESTDIR)$(PREFIX)/share/man/man1/proxy-client.1
	install -D -m 0644 man/proxy.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/proxy.conf.5
	install -D -m 0644 man/proxy-server.8 $(DESTDIR)$(PREFIX)/share/man/man8/proxy-server.8
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/proxy $(INSTALL_DOCS)
	$(UNIT_SED) conf/proxy-server.service >$(BUILD)/proxy-server.service
	$(UNIT_SED) conf/proxy-client@.service >$(BUILD)/proxy-client@.service
	install -D -m 0644 $(BUILD)/proxy-server.service $(DESTDIR)$(SYSTEMDUNITDIR)/proxy-server.service
	install -D -m 0644 $(BUILD)/proxy-client@.service $(DESTDIR)$(SYSTEMDUNITDIR)/proxy-client@.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/proxy-server $(DESTDIR)$(PREFIX)/bin/proxy-client
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/proxy-client.1 \
		$(DESTDIR)$(PREFIX)/share/man/man5/proxy.conf.5 \
		$(DESTDIR)$(PREFIX)/share/man/man8/proxy-server.8
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/doc/proxy/,$(notdir $(INSTALL_DOCS)))
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/proxy-server.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/proxy-client@.service
	rmdir $(DESTDIR)$(PREFIX)/share/doc/proxy 2>/dev/null || true

# The Debian package (debian/mkdeb.sh says how and why so): the programs
# built in BUILD/deb with all of Debian's hardening flags (dpkg-buildflags:
# fortify, stack protector, PIE, relro, bind now), staged as `make install PREFIX=/usr`
# stages them, packed with dpkg-deb; lintian checks it when installed.
DEB_BUILD := $(BUILD)/deb

DEB_FLAGS := DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get

deb:
	$(Q)$(MAKE) --no-print-directory BUILD=$(DEB_BUILD) \
		CFLAGS="$$($(DEB_FLAGS) CFLAGS) $$($(DEB_FLAGS) CPPFLAGS)" \
		LDFLAGS="$$($(DEB_FLAGS) LDFLAGS)" all
	$(Q)deb=$$(./debian/mkdeb.sh $(DEB_BUILD)) && echo "  DEB     $$deb" && \
	if command -v lintian >/dev/null 2>&1; then \
		lintian --fail-on error,warning "$$deb"; \
	else \
		echo "  (no lintian to check it: make deps installs it)"; \
	fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
