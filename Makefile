# proxy: a SOCKS5 + transparent proxy that carries TCP and UDP through one
# mutually authenticated TLS 1.3 connection.
#
#   make            build build/proxy-server and build/proxy-client
#   make deps       install missing build and test dependencies (root/sudo)
#   make demo       deps + build + throwaway PKI + server and client on loopback
#   make test       deps + build + unit, sanitizer and integration tests
#   make bench      speed and memory side by side with ssh -D, ss-libev, trojan
#   make install    PREFIX=/usr/local DESTDIR=
#   make V=1        show the commands

CC       ?= cc
PKG_CONFIG ?= pkg-config
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build

PKGS     := openssl libcares
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) libev 2>/dev/null || $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# libev ships no .pc file on Debian: fall back to -lev.
EV_LIBS    := $(shell $(PKG_CONFIG) --libs libev 2>/dev/null || echo -lev)

# CFLAGS/LDFLAGS are the user's (and the sanitizer build's); the flags the
# project needs are added separately so a command-line CFLAGS keeps them.
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wno-unused-parameter
ALL_CFLAGS = -std=gnu11 $(WARN) -fno-strict-aliasing -D_GNU_SOURCE \
	     $(PKG_CFLAGS) $(CFLAGS)
LDLIBS   += $(PKG_LIBS) $(EV_LIBS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRCS := $(wildcard common/*.c)
SERVER_SRCS := $(wildcard proxy-server/*.c)
CLIENT_SRCS := $(wildcard proxy-client/*.c) $(wildcard redir/*.c)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJS := $(call obj,$(COMMON_SRCS))
SERVER_OBJS := $(call obj,$(SERVER_SRCS))
CLIENT_OBJS := $(call obj,$(CLIENT_SRCS))
# Unit tests link every module except the two main()s.
LIB_OBJS    := $(COMMON_OBJS) $(filter-out %/main.o,$(SERVER_OBJS) $(CLIENT_OBJS))
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps demo test check unit asan bench install uninstall clean

all: $(BUILD)/proxy-server $(BUILD)/proxy-client

$(BUILD)/proxy-server: $(SERVER_OBJS) $(COMMON_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/proxy-client: $(CLIENT_OBJS) $(COMMON_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

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

deps:
	$(Q)./tests/deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tests/demo.sh $(BUILD)

test: deps
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)$(MAKE) --no-print-directory asan
	$(Q)./tests/run.sh $(BUILD)

check: test

bench: deps all
	$(Q)./tests/bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/doc/proxy
	install -m 0755 $(BUILD)/proxy-server $(DESTDIR)$(PREFIX)/sbin/proxy-server
	install -m 0755 $(BUILD)/proxy-client $(DESTDIR)$(PREFIX)/bin/proxy-client
	install -m 0644 conf/server.conf conf/client.conf README.md docs/PROTOCOL.md \
		$(DESTDIR)$(PREFIX)/share/doc/proxy/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/proxy-server $(DESTDIR)$(PREFIX)/bin/proxy-client
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/proxy

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
